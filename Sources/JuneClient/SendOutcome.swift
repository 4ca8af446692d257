/// What happened to one request to June.
public enum SendOutcome: Sendable, Equatable {
    /// June answered 2xx.
    case delivered(status: Int)
    /// Worth retrying: 408, 429, 5xx, connection errors and timeouts. `status` is nil for transport errors;
    /// `retryAfter` is the server's `Retry-After`, to be honoured as the minimum wait;
    /// `message` is `"HTTP 503: <first 200 bytes of body>"` or the transport error.
    case retryable(status: Int?, retryAfter: Duration?, message: String)
    /// June (or something in front of it) refuses the relay, not the event: 401, 403, 404, 405, 407, 410
    /// and every 3xx — a wrong, revoked or rotated write key, a wrong URL, a proxy in the way. Nothing is
    /// wrong with the event: never dead-letter it; stop and probe until June accepts again.
    /// `message` is `"HTTP 401: <first 200 bytes of body>"`.
    case refused(status: Int, message: String)
    /// June refused this event for good (any other 4xx, e.g. 400, 413, 422): dead-letter, no retry.
    /// `message` is `"HTTP 400: <first 200 bytes of body>"`.
    case rejected(status: Int, message: String)

    /// The HTTP status, if a response was received.
    public var status: Int? {
        switch self {
        case .delivered(let status): status
        case .retryable(let status, _, _): status
        case .refused(let status, _): status
        case .rejected(let status, _): status
        }
    }

    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }

    public var isRetryable: Bool {
        if case .retryable = self { return true }
        return false
    }

    public var isRefused: Bool {
        if case .refused = self { return true }
        return false
    }
}
