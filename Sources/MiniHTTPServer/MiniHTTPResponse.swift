/// The response a `MiniHTTPServer` handler returns.
public struct MiniHTTPResponse: Sendable {
    public var status: Int
    /// Extra header fields. `Content-Length` and `Connection` are set by the server.
    public var headers: MiniHTTPHeaders
    public var body: [UInt8]
    /// When non-zero, the server writes this response only after this delay, using an event-loop timer
    /// (no thread and no task is held while waiting). This is how the stub simulates latency cheaply.
    public var delay: Duration

    public init(status: Int, headers: MiniHTTPHeaders = [:], body: [UInt8] = [], delay: Duration = .zero) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delay = delay
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: Int = 200) -> MiniHTTPResponse {
        MiniHTTPResponse(
            status: status,
            headers: ["Content-Type": "text/plain; charset=utf-8"],
            body: Array(text.utf8)
        )
    }

    /// An `application/json` response from already-encoded bytes.
    public static func json(_ body: [UInt8], status: Int = 200) -> MiniHTTPResponse {
        MiniHTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// An `application/json` response from an already-encoded JSON string.
    public static func json(_ body: String, status: Int = 200) -> MiniHTTPResponse {
        .json(Array(body.utf8), status: status)
    }
}
