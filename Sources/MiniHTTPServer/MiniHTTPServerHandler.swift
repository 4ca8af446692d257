import NIOCore
import NIOHTTP1

/// The last handler of a connection's pipeline: aggregates a request, runs the responder, writes the response.
final class MiniHTTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var stateMachine: MiniHTTPConnectionStateMachine
    private let responder: MiniHTTPResponder

    init(responder: MiniHTTPResponder, maxBodySize: Int) {
        self.responder = responder
        self.stateMachine = MiniHTTPConnectionStateMachine(maxBodySize: maxBodySize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            if self.stateMachine.receivedHead(head) == .rejectTooLarge {
                self.rejectTooLarge(context: context)
            }
        case .body(var chunk):
            if self.stateMachine.receivedBody(&chunk) == .rejectTooLarge {
                self.rejectTooLarge(context: context)
            }
        case .end:
            switch self.stateMachine.receivedEnd() {
            case .none:
                break
            case .dispatch(let request, let keepAlive):
                self.dispatch(request, keepAlive: keepAlive, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stateMachine.channelClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: - Responding

    private func dispatch(_ request: MiniHTTPRequest, keepAlive: Bool, context: ChannelHandlerContext) {
        switch self.responder {
        case .synchronous(let handler):
            self.respond(handler(request), keepAlive: keepAlive, context: context)
        case .asynchronous(let handler):
            let promise = context.eventLoop.makePromise(of: MiniHTTPResponse.self)
            promise.completeWithTask { await handler(request) }
            promise.futureResult.assumeIsolated().whenSuccess { response in
                self.respond(response, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func respond(_ response: MiniHTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        if response.delay > .zero {
            context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(response.delay)) {
                self.write(response, keepAlive: keepAlive, context: context)
            }
        } else {
            self.write(response, keepAlive: keepAlive, context: context)
        }
    }

    private func write(_ response: MiniHTTPResponse, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !self.stateMachine.isClosed else { return }
        var headers = HTTPHeaders()
        headers.reserveCapacity(response.headers.count + 2)
        for field in response.headers.fields {
            headers.add(name: field.name, value: field.value)
        }
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        if !keepAlive {
            headers.replaceOrAdd(name: "connection", value: "close")
        }
        let head = HTTPResponseHead(
            version: .http1_1,
            status: HTTPResponseStatus(statusCode: response.status),
            headers: headers
        )
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            let buffer = context.channel.allocator.buffer(bytes: response.body)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let stayOpen = self.stateMachine.responseWritten()
        if stayOpen {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func rejectTooLarge(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: "0")
        headers.add(name: "connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .payloadTooLarge, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension MiniHTTPServerHandler: Sendable {}
