/// Errors from the June client module (configuration problems found at startup, a bad reloaded write key).
public struct JuneClientError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidBaseURL
        case invalidWriteKey
        case invalidSetting
        case invalidCAFile
        case invalidProxy
    }

    private let code: Code
    /// A human-readable reason, safe to log (never contains the write key).
    public let reason: String

    /// The June base URL is not an absolute `http`/`https` URL with a host.
    public static func invalidBaseURL(_ url: String, _ why: String) -> JuneClientError {
        JuneClientError(code: .invalidBaseURL, reason: "invalid June URL \"\(url)\": \(why)")
    }

    /// The write key is empty or cannot be sent in a header.
    public static func invalidWriteKey(_ why: String) -> JuneClientError {
        JuneClientError(code: .invalidWriteKey, reason: "invalid June write key: \(why)")
    }

    /// Another setting is out of range.
    public static func invalidSetting(_ name: String, _ why: String) -> JuneClientError {
        JuneClientError(code: .invalidSetting, reason: "invalid June client setting \(name): \(why)")
    }

    /// The `--june-ca-file` bundle cannot be read or holds no PEM certificate.
    public static func invalidCAFile(_ path: String, _ why: String) -> JuneClientError {
        JuneClientError(code: .invalidCAFile, reason: "invalid --june-ca-file \"\(path)\": \(why)")
    }

    /// The proxy URL from the environment cannot be used. `url` must come without credentials.
    public static func invalidProxy(_ url: String, _ why: String) -> JuneClientError {
        JuneClientError(code: .invalidProxy, reason: "invalid proxy URL \"\(url)\": \(why)")
    }

    public var isInvalidBaseURL: Bool { self.code == .invalidBaseURL }
    public var isInvalidWriteKey: Bool { self.code == .invalidWriteKey }
    public var isInvalidCAFile: Bool { self.code == .invalidCAFile }
    public var isInvalidProxy: Bool { self.code == .invalidProxy }

    public var description: String { self.reason }
}
