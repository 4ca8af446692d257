import NIOCore

/// One request on one connection: the complete request bytes (request line, headers and body, built by
/// `JuneHTTPClient`), the deadline for the whole exchange and the promise the answer completes.
struct HTTP1Exchange: Sendable {
    var request: ByteBuffer
    var deadline: NIODeadline
    var promise: EventLoopPromise<HTTP1Response>
}

/// What the server answered.
struct HTTP1Response: Sendable, Equatable {
    var status: Int
    /// The raw `Retry-After` value, if any.
    var retryAfter: String?
    /// The first bytes of the body (only for non-2xx answers, at most `ResponseClassifier.messageBodyLimit`).
    var bodyPrefix: [UInt8]
    /// Whether the connection can carry another request (HTTP/1.1 keep-alive and no `Connection: close`).
    var keepAlive: Bool
}

/// A request that got no complete answer. Every case is a transport failure (retryable for the relay).
enum HTTP1TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The deadline passed before the answer was complete; the connection is closed.
    case timeout
    /// The connection closed before the answer was complete.
    case connectionClosed
    /// The pool was shut down.
    case poolShutDown
    /// A write arrived while another exchange was running on the connection (a pool bug; never expected).
    case connectionBusy
    /// The proxy answered the tunnel's `CONNECT` with a non-2xx status (e.g. 407: wrong or missing credentials).
    case proxyRefused(status: Int)
    /// The proxy closed the connection before answering `CONNECT`.
    case proxyClosed
    /// The proxy's answer to `CONNECT` was not an HTTP response head.
    case proxyProtocolError

    var description: String {
        switch self {
        case .timeout: "timeout: no complete response before the request deadline"
        case .connectionClosed: "the connection closed before the response was complete"
        case .poolShutDown: "the HTTP client was shut down"
        case .connectionBusy: "internal error: connection already in use"
        case .proxyRefused(let status): "proxy refused CONNECT: \(status)"
        case .proxyClosed: "the proxy closed the connection before the tunnel was open"
        case .proxyProtocolError: "the proxy's answer to CONNECT is not HTTP"
        }
    }
}
