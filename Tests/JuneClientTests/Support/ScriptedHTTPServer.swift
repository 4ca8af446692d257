import Foundation
import JuneClient
import JuneTransform
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A raw TCP server for client tests: reads HTTP/1.1 requests byte by byte (head, `Content-Length`
/// body) and answers each with exact bytes from a script, so tests can send what `MiniHTTPServer`
/// never would: chunked bodies, interim 1xx heads, `Connection: close`, a close without an answer.
/// Optionally behind TLS. Counts connections and records every request.
final class ScriptedHTTPServer: Sendable {
    struct Request: Sendable {
        /// The request line and headers, as text.
        var head: String
        var body: [UInt8]
        /// Which accepted connection (0, 1, ...) carried it.
        var connection: Int
    }

    enum Reply: Sendable {
        /// Write these bytes; close the connection afterwards when `close` is true.
        case bytes([UInt8], close: Bool)
        /// Close the connection without answering.
        case closeWithoutAnswer
        /// Never answer (the client must time out).
        case silence
        /// Write these bytes after `delay` (the exchange is held meanwhile).
        case delayed([UInt8], by: Duration)
    }

    private struct State {
        var requests: [Request] = []
        var connections = 0
    }

    private let state = Mutex(State())
    private let script: @Sendable (Request, Int) -> Reply
    private let channel: any Channel
    /// The bound port (kept: a closed channel no longer reports its address).
    let port: Int

    /// `script(request, index)` decides the answer to the index-th request (0-based, over all connections).
    init(tls: NIOSSLContext? = nil, script: @escaping @Sendable (Request, Int) -> Reply) async throws {
        self.script = script
        let box = ServerBox()
        self.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let server = box.server else { throw ChannelError.ioOnClosedChannel }
                    let index = server.state.withLock { state in
                        defer { state.connections += 1 }
                        return state.connections
                    }
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(server: server, connection: index))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        self.port = self.channel.localAddress?.port ?? 0
        box.server = self
    }

    var requests: [Request] { self.state.withLock { $0.requests } }
    var connectionCount: Int { self.state.withLock { $0.connections } }

    func shutdown() async {
        try? await self.channel.close()
    }

    fileprivate func received(_ request: Request) -> Reply {
        let index = self.state.withLock { state in
            state.requests.append(request)
            return state.requests.count - 1
        }
        return self.script(request, index)
    }

    /// `childChannelInitializer` is set up before `self` exists; connections only arrive after `init`.
    private final class ServerBox: Sendable {
        private let slot = Mutex<ScriptedHTTPServer?>(nil)
        var server: ScriptedHTTPServer? {
            get { self.slot.withLock { $0 } }
            set { self.slot.withLock { $0 = newValue } }
        }
    }

    private final class ConnectionHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let server: ScriptedHTTPServer
        private let connection: Int
        private var pending: [UInt8] = []

        init(server: ScriptedHTTPServer, connection: Int) {
            self.server = server
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.pending.append(contentsOf: self.unwrapInboundIn(data).readableBytesView)
            while let request = self.takeRequest() {
                switch self.server.received(request) {
                case .bytes(let bytes, let close):
                    let write = context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
                    if close {
                        write.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                    }
                case .closeWithoutAnswer:
                    context.close(promise: nil)
                    return
                case .silence:
                    break
                case .delayed(let bytes, let delay):
                    let buffer = context.channel.allocator.buffer(bytes: bytes)
                    let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                    context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
                    }
                }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        /// One complete request from the front of `pending`, if there is one.
        private func takeRequest() -> Request? {
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            guard let end = self.pending.indices.first(where: { self.pending[$0...].starts(with: separator) }) else {
                return nil
            }
            let head = String(decoding: self.pending[..<end], as: UTF8.self)
            let length =
                head.split(separator: "\r\n").compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
            let bodyStart = end + separator.count
            guard self.pending.count >= bodyStart + length else { return nil }
            let body = Array(self.pending[bodyStart..<(bodyStart + length)])
            self.pending.removeFirst(bodyStart + length)
            return Request(head: head, body: body, connection: self.connection)
        }
    }
}

extension ScriptedHTTPServer.Reply {
    /// A complete response with `Content-Length`, written after `delay`.
    static func delayedResponse(_ status: Int, body: String = "", by delay: Duration) -> Self {
        let text = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
        return .delayed(Array(text.utf8), by: delay)
    }

    /// A complete response with `Content-Length`.
    static func response(_ status: Int, headers: [String] = [], body: String = "", close: Bool = false) -> Self {
        var text = "HTTP/1.1 \(status) Status\r\n"
        for header in headers { text += header + "\r\n" }
        text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        return .bytes(Array(text.utf8), close: close)
    }
}

extension ScriptedHTTPServer {
    /// The header lines of a wire test's request to this server: its Host, `authorization`, JSON, the
    /// tests' User-Agent and `contentLength`.
    func expectedHeaderLines(authorization: String, contentLength: Int) -> Set<String> {
        [
            "Host: 127.0.0.1:\(port)",
            "Authorization: \(authorization)",
            "Content-Type: application/json",
            "User-Agent: june-relay/wire-test",
            "Content-Length: \(contentLength)",
        ]
    }
}

extension JuneHTTPClient {
    /// Sends every request at once (one task each); the outcomes in the order they finished.
    func sendAllAtOnce(_ requests: [JuneRequest]) async -> [SendOutcome] {
        await withTaskGroup(of: SendOutcome.self, returning: [SendOutcome].self) { group in
            for request in requests {
                group.addTask { await self.send(request) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }
}

extension JuneHTTPClient {
    /// Shuts this client down, then `server`.
    func shutdown(with server: ScriptedHTTPServer) async throws {
        try await shutdown()
        await server.shutdown()
    }
}
