import Foundation
import NIOCore

/// Opens an HTTP `CONNECT` tunnel on a freshly connected proxy connection: sends the prepared `CONNECT`
/// request when the connection is up, reads the proxy's answer head, and on a 2xx removes itself so the
/// connection carries the bytes to and from the endpoint (TLS included) unchanged. Any other answer, a
/// close or the request deadline fails `established` and closes the connection.
final class HTTP1ProxyTunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Proxies answer `CONNECT` with a short head; more than this is not an HTTP proxy.
    private static let maxHeadSize = 16 * 1024

    private let request: [UInt8]
    private let deadline: NIODeadline
    private let established: EventLoopPromise<Void>
    private var received: [UInt8] = []
    private var timer: Scheduled<Void>?
    private var finished = false

    init(request: [UInt8], deadline: NIODeadline, established: EventLoopPromise<Void>) {
        self.request = request
        self.deadline = deadline
        self.established = established
    }

    /// `CONNECT host:port HTTP/1.1` with `Host` and, when the proxy URL had credentials,
    /// `Proxy-Authorization: Basic base64(user:password)`.
    static func connectRequest(to endpoint: HTTP1Endpoint, proxy: JuneProxy) -> [UInt8] {
        let target = endpoint.authority
        var text = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let credentials = proxy.basicCredentials {
            text += "Proxy-Authorization: Basic \(credentials)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.start(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard self.timer == nil, !self.finished else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: self.deadline) {
            self.fail(HTTP1TransportError.timeout, context: context)
        }
        context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(bytes: self.request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.finished else { return }
        self.received.append(contentsOf: self.unwrapInboundIn(data).readableBytesView)
        guard let headEnd = Self.endOfHead(self.received) else {
            if self.received.count > Self.maxHeadSize {
                self.fail(HTTP1TransportError.proxyProtocolError, context: context)
            }
            return
        }
        guard let status = Self.status(of: self.received) else {
            self.fail(HTTP1TransportError.proxyProtocolError, context: context)
            return
        }
        guard (200..<300).contains(status) else {
            self.fail(HTTP1TransportError.proxyRefused(status: status), context: context)
            return
        }
        // The endpoint cannot have spoken yet (the client speaks first in HTTP and in TLS).
        guard headEnd == self.received.count else {
            self.fail(HTTP1TransportError.proxyProtocolError, context: context)
            return
        }
        self.finished = true
        self.timer?.cancel()
        self.timer = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        self.established.succeed(())
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(HTTP1TransportError.proxyClosed, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Removed without an answer (the channel was torn down): nobody may wait forever.
        if !self.finished {
            self.finished = true
            self.timer?.cancel()
            self.established.fail(HTTP1TransportError.proxyClosed)
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard !self.finished else { return }
        self.finished = true
        self.timer?.cancel()
        self.timer = nil
        context.close(promise: nil)
        self.established.fail(error)
    }

    /// The index just past the blank line that ends the head, if it arrived.
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 0x0D && bytes[index + 1] == 0x0A && bytes[index + 2] == 0x0D && bytes[index + 3] == 0x0A {
            return index + 4
        }
        return nil
    }

    /// The status code of `HTTP/1.x NNN ...`.
    static func status(of head: [UInt8]) -> Int? {
        let prefix = Array("HTTP/1.".utf8)
        guard head.count >= 12, head.starts(with: prefix) else { return nil }
        let digits = head[9..<12]
        guard head[8] == 0x20, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}

@available(*, unavailable)
extension HTTP1ProxyTunnelHandler: Sendable {}
