/// Errors from `MiniHTTPServer`.
public struct MiniHTTPServerError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case bindFailed
        case alreadyShutDown
    }

    private let code: Code
    /// A human-readable reason.
    public let reason: String

    /// Binding the listening socket failed (address in use, bad host, …).
    public static func bindFailed(host: String, port: Int, underlying: any Error) -> MiniHTTPServerError {
        MiniHTTPServerError(code: .bindFailed, reason: "could not bind \(host):\(port): \(underlying)")
    }

    /// `start()` was called after `shutdown()`.
    public static let alreadyShutDown = MiniHTTPServerError(code: .alreadyShutDown, reason: "server was shut down")

    public var isBindFailure: Bool { self.code == .bindFailed }

    public var isAlreadyShutDown: Bool { self.code == .alreadyShutDown }

    public var description: String { "MiniHTTPServerError: \(self.reason)" }
}
