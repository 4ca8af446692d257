import NIOCore
import NIOHTTP1

/// The last handler of a June connection: runs one exchange at a time (no pipelining). It writes the
/// prepared request bytes, collects the answer from `HTTPResponseDecoder` (status, `Retry-After`,
/// keep-alive, a short body prefix for errors), enforces the exchange deadline, and completes the
/// exchange's promise exactly once.
///
/// All state lives on the channel's event loop.
final class HTTP1ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTP1Exchange
    typealias OutboundOut = HTTPClientRequestPart

    /// Tells `HTTPResponseDecoder` a POST went out (it pairs every response with a request head);
    /// the bytes on the wire come from the exchange's prepared buffer.
    private static let postHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")

    private var promise: EventLoopPromise<HTTP1Response>?
    private var timer: Scheduled<Void>?
    private var response = HTTP1Response(status: 0, retryAfter: nil, bodyPrefix: [], keepAlive: false)
    /// A 1xx interim head was read: its `.end` does not finish the exchange.
    private var readingInterimResponse = false
    private let bodyPrefixLimit: Int

    init(bodyPrefixLimit: Int) {
        self.bodyPrefixLimit = bodyPrefixLimit
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = self.unwrapOutboundIn(data)
        guard self.promise == nil else {
            exchange.promise.fail(HTTP1TransportError.connectionBusy)
            promise?.fail(HTTP1TransportError.connectionBusy)
            return
        }
        guard context.channel.isActive else {
            // Closed after the pool handed it out: fail now rather than at the deadline.
            exchange.promise.fail(HTTP1TransportError.connectionClosed)
            promise?.fail(HTTP1TransportError.connectionClosed)
            return
        }
        guard NIODeadline.now() < exchange.deadline else {
            // A request whose deadline has passed is never written.
            exchange.promise.fail(HTTP1TransportError.timeout)
            promise?.fail(HTTP1TransportError.timeout)
            return
        }
        self.promise = exchange.promise
        self.response = HTTP1Response(status: 0, retryAfter: nil, bodyPrefix: [], keepAlive: false)
        self.readingInterimResponse = false
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: exchange.deadline) {
            self.fail(HTTP1TransportError.timeout, context: context)
        }
        context.write(self.wrapOutboundOut(.head(Self.postHead)), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(exchange.request))), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.promise != nil else { return }  // nothing asked (e.g. the exchange already timed out)
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            let status = Int(head.status.code)
            if (100..<200).contains(status) {
                self.readingInterimResponse = true
                return
            }
            self.response.status = status
            self.response.keepAlive = head.isKeepAlive
            if !(200..<300).contains(status) {
                self.response.retryAfter = head.headers.first(name: "retry-after")
            }
        case .body(let chunk):
            guard !(200..<300).contains(self.response.status) else { return }
            let room = self.bodyPrefixLimit - self.response.bodyPrefix.count
            if room > 0 {
                self.response.bodyPrefix.append(contentsOf: chunk.readableBytesView.prefix(room))
            }
        case .end:
            if self.readingInterimResponse {
                self.readingInterimResponse = false
                return
            }
            self.succeed(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(HTTP1TransportError.connectionClosed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error, context: context)
    }

    private func succeed(context: ChannelHandlerContext) {
        guard let promise = self.promise else { return }
        self.promise = nil
        self.timer?.cancel()
        self.timer = nil
        let response = self.response
        if !response.keepAlive {
            context.close(promise: nil)
        }
        promise.succeed(response)
    }

    /// Closes the connection (its state is unknown) and fails the running exchange, if any.
    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        // Take the exchange before closing: closing runs `channelInactive` at once, which would
        // report "connection closed" instead of the real cause.
        let promise = self.promise
        self.promise = nil
        self.timer?.cancel()
        self.timer = nil
        context.close(promise: nil)
        promise?.fail(error)
    }
}

@available(*, unavailable)
extension HTTP1ExchangeHandler: Sendable {}

/// Sits between the TLS/socket end of the pipeline and `HTTPResponseDecoder`: turns the request parts
/// the exchange handler writes into bytes. The head carries nothing for the wire (the request line and
/// headers are already at the front of the body buffer); the body buffer goes out as is.
final class HTTP1PreparedRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head, .end:
            promise?.succeed(())
        case .body(let bytes):
            context.write(self.wrapOutboundOut(bytes), promise: promise)
        }
    }
}

@available(*, unavailable)
extension HTTP1PreparedRequestEncoder: Sendable {}
