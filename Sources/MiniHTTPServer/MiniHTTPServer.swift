import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A tiny HTTP/1.1 server on SwiftNIO: keep-alive, pipelining-safe, request bodies aggregated up to a cap.
///
/// Used for the relay's `/metrics`, `/healthz`, `/readyz` and by `june-stub`. It is a ServiceLifecycle
/// `Service`: in a `ServiceGroup`, graceful shutdown (SIGTERM) closes it and ``run()`` returns.
///
/// ```swift
/// let server = MiniHTTPServer(configuration: .init(port: 0), logger: logger) { request in
///     .text("ok")
/// }
/// try await server.start()      // binds; `server.port` is now the bound port
/// try await server.run()        // returns after `shutdown()`, graceful shutdown or cancellation
/// ```
public final class MiniHTTPServer: Service, Sendable {
    enum Lifecycle {
        case idle
        case starting
        case running(any Channel)
        case shutDown
    }

    public let configuration: MiniHTTPServerConfiguration
    private let responder: MiniHTTPResponder
    private let logger: Logger
    private let group: any EventLoopGroup
    private let lifecycle = Mutex<Lifecycle>(.idle)
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// A server whose handler runs as a Swift concurrency task per request.
    public convenience init(
        configuration: MiniHTTPServerConfiguration,
        logger: Logger,
        handler: @escaping @Sendable (MiniHTTPRequest) async -> MiniHTTPResponse
    ) {
        self.init(configuration: configuration, logger: logger, responder: .asynchronous(handler))
    }

    /// A server whose handler runs synchronously on the connection's event loop (must not block).
    public convenience init(
        configuration: MiniHTTPServerConfiguration,
        logger: Logger,
        synchronousHandler: @escaping @Sendable (MiniHTTPRequest) -> MiniHTTPResponse
    ) {
        self.init(configuration: configuration, logger: logger, responder: .synchronous(synchronousHandler))
    }

    public init(configuration: MiniHTTPServerConfiguration, logger: Logger, responder: MiniHTTPResponder) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup.singleton
    }

    /// The bound port once started (useful with port 0), otherwise the configured port.
    public var port: Int {
        self.lifecycle.withLock { lifecycle in
            if case .running(let channel) = lifecycle, let port = channel.localAddress?.port {
                return port
            }
            return self.configuration.port
        }
    }

    /// Binds the listening socket. Calling it again while running does nothing.
    public func start() async throws(MiniHTTPServerError) {
        let proceed: Bool = try self.lifecycle.withLock { lifecycle throws(MiniHTTPServerError) in
            switch lifecycle {
            case .idle:
                lifecycle = .starting
                return true
            case .starting, .running:
                return false
            case .shutDown:
                throw MiniHTTPServerError.alreadyShutDown
            }
        }
        guard proceed else { return }

        let channel: any Channel
        do {
            channel = try await self.makeBootstrap()
                .bind(host: self.configuration.host, port: self.configuration.port)
                .get()
        } catch {
            self.lifecycle.withLock { lifecycle in
                if case .starting = lifecycle { lifecycle = .idle }
            }
            throw MiniHTTPServerError.bindFailed(host: self.configuration.host, port: self.configuration.port, underlying: error)
        }

        let wasShutDown = self.lifecycle.withLock { lifecycle in
            if case .shutDown = lifecycle { return true }
            lifecycle = .running(channel)
            return false
        }
        if wasShutDown {
            try? await channel.close()
            throw MiniHTTPServerError.alreadyShutDown
        }
        self.logger.info(
            "HTTP server started",
            metadata: ["http.host": "\(self.configuration.host)", "http.port": "\(channel.localAddress?.port ?? -1)"]
        )
    }

    /// Starts the server if needed and waits until it is shut down: by ``shutdown()``, by the service
    /// group's graceful shutdown, or by cancelling the calling task.
    /// Returns at once when `shutdown()` came first (a service told to stop before it ran just stops).
    public func run() async throws {
        do {
            try await self.start()
        } catch {
            if error.isAlreadyShutDown { return }
            throw error
        }
        try await withGracefulShutdownHandler {
            try await self.waitUntilClosed()
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    private func waitUntilClosed() async throws {
        try await withTaskCancellationHandler {
            while true {
                let state = self.lifecycle.withLock { lifecycle -> (any Channel)?? in
                    switch lifecycle {
                    case .running(let channel): return .some(channel)
                    case .shutDown: return .some(nil)
                    case .idle, .starting: return nil
                    }
                }
                switch state {
                case .some(.some(let channel)):
                    try await channel.closeFuture.get()
                    return
                case .some(.none):
                    return
                case .none:
                    // Another caller's start() is still binding.
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        } onCancel: {
            self.beginShutdown()
        }
    }

    /// Stops accepting connections and closes every open connection; returns once the listening socket is
    /// closed. Idempotent.
    public func shutdown() async throws {
        guard let channel = self.beginShutdown() else { return }
        try? await channel.closeFuture.get()
    }

    /// Marks the server shut down and starts closing the listening socket and every connection, without
    /// waiting (callable from cancellation and graceful-shutdown handlers). Returns the listening channel
    /// the first time it is called on a running server.
    @discardableResult
    private func beginShutdown() -> (any Channel)? {
        let channel: (any Channel)? = self.lifecycle.withLock { lifecycle in
            defer { lifecycle = .shutDown }
            if case .running(let channel) = lifecycle { return channel }
            return nil
        }
        guard let channel else { return nil }
        let port = channel.localAddress?.port ?? -1
        channel.close(promise: nil)
        let open = self.connections.withLock { Array($0.values) }
        for connection in open {
            connection.close(promise: nil)
        }
        self.logger.info("HTTP server stopped", metadata: ["http.port": "\(port)"])
        return channel
    }

    // MARK: - Bootstrap

    private func makeBootstrap() -> ServerBootstrap {
        let responder = self.responder
        let maxBodySize = self.configuration.maxBodySize
        return ServerBootstrap(group: self.group)
            .serverChannelOption(.backlog, value: self.configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [weak self] channel in
                if let self {
                    let id = ObjectIdentifier(channel)
                    self.connections.withLock { $0[id] = channel }
                    channel.closeFuture.whenComplete { [weak self] _ in
                        _ = self?.connections.withLock { $0.removeValue(forKey: id) }
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: true,
                        withErrorHandling: true
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        MiniHTTPServerHandler(responder: responder, maxBodySize: maxBodySize)
                    )
                }
            }
    }
}
