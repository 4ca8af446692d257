import NIOCore
import NIOHTTP1

/// Per-connection request aggregation as a value: the channel handler feeds it request parts and
/// performs the actions it returns.
///
/// `HTTPServerPipelineHandler` (pipelining assistance) guarantees that the next request is delivered only
/// after the previous response has been fully written, so one request is handled at a time.
struct MiniHTTPConnectionStateMachine {
    enum State {
        case idle
        case receiving(head: HTTPRequestHead, body: ByteBuffer?)
        /// The body exceeded the limit; a 413 was sent and the connection is closing.
        case rejected
        case responding(keepAlive: Bool)
        case closed
    }

    enum HeadAction: Equatable {
        case none
        case rejectTooLarge
    }

    enum BodyAction: Equatable {
        case none
        case rejectTooLarge
    }

    enum EndAction {
        case none
        case dispatch(MiniHTTPRequest, keepAlive: Bool)
    }

    private(set) var state: State = .idle
    let maxBodySize: Int

    init(maxBodySize: Int) {
        self.maxBodySize = maxBodySize
    }

    mutating func receivedHead(_ head: HTTPRequestHead) -> HeadAction {
        guard case .idle = self.state else { return .none }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > self.maxBodySize {
            self.state = .rejected
            return .rejectTooLarge
        }
        self.state = .receiving(head: head, body: nil)
        return .none
    }

    mutating func receivedBody(_ chunk: inout ByteBuffer) -> BodyAction {
        guard case .receiving(let head, var body) = self.state else { return .none }
        let size = (body?.readableBytes ?? 0) + chunk.readableBytes
        if size > self.maxBodySize {
            self.state = .rejected
            return .rejectTooLarge
        }
        // Avoid a CoW copy of the aggregated buffer while it sits in `state`.
        self.state = .idle
        if body == nil {
            body = chunk
        } else {
            body!.writeBuffer(&chunk)
        }
        self.state = .receiving(head: head, body: body)
        return .none
    }

    mutating func receivedEnd() -> EndAction {
        guard case .receiving(let head, let body) = self.state else { return .none }
        let keepAlive = head.isKeepAlive
        self.state = .responding(keepAlive: keepAlive)
        var headers = MiniHTTPHeaders()
        for (name, value) in head.headers {
            headers.add(name: name, value: value)
        }
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        let request = MiniHTTPRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: bytes)
        return .dispatch(request, keepAlive: keepAlive)
    }

    /// The response for the current request was written. Returns whether the connection stays open.
    mutating func responseWritten() -> Bool {
        guard case .responding(let keepAlive) = self.state else { return false }
        self.state = keepAlive ? .idle : .closed
        return keepAlive
    }

    mutating func channelClosed() {
        self.state = .closed
    }

    var isClosed: Bool {
        if case .closed = self.state { return true }
        return false
    }
}
