import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 connections to one endpoint, at most `maxConnections` open, one exchange per
/// connection at a time. A request takes an idle connection (most recently used first), else opens a
/// new one while under the limit, else waits in FIFO order for one to be released.
///
/// The deadline of a request covers all of it: waiting for a connection, connecting (through the proxy
/// tunnel, if any), the TLS handshake, writing and reading. A request whose deadline has passed is never
/// written. Connections are closed when the server says so, after any failed exchange, when idle longer
/// than `idleTimeout` (checked when they would be reused) and at `shutdown()`.
///
/// The bookkeeping lives in `State`, a value behind a lock whose methods say what to do next; this class
/// only carries those actions out (resume waiters, close channels, connect).
final class HTTP1ConnectionPool: Sendable {
    struct Configuration: Sendable {
        var endpoint: HTTP1Endpoint
        /// When set, connections are tunnelled through this HTTP proxy with `CONNECT`.
        var proxy: JuneProxy?
        var maxConnections: Int
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var bodyPrefixLimit: Int
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    /// The `CONNECT` request sent to the proxy, built once.
    private let tunnelRequest: [UInt8]?
    private let state: Mutex<State>

    init(configuration: Configuration, tlsConfiguration: TLSConfiguration?, group: any EventLoopGroup) throws {
        self.configuration = configuration
        self.group = group
        self.state = Mutex(State(maxConnections: configuration.maxConnections, idleTimeout: configuration.idleTimeout))
        if configuration.endpoint.usesTLS {
            self.sslContext = try NIOSSLContext(configuration: tlsConfiguration ?? .makeClientConfiguration())
        } else {
            self.sslContext = nil
        }
        self.tunnelRequest = configuration.proxy.map {
            HTTP1ProxyTunnelHandler.connectRequest(to: configuration.endpoint, proxy: $0)
        }
        // The generic response decoder's type metadata is instantiated here, once, on this thread: not
        // by several event loops at the same moment as they build their first pipelines. (A handler
        // never added to a pipeline is simply released.)
        _ = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes))
    }

    /// Runs one exchange: leases a connection, writes `request`, waits for the answer, returns the
    /// connection to the pool (or closes it). Throws `HTTP1TransportError`, connect or TLS errors.
    func execute(_ makeRequest: (ByteBufferAllocator) -> ByteBuffer, deadline: NIODeadline) async throws
        -> HTTP1Response
    {
        let channel = try await self.leaseConnection(deadline: deadline)
        guard NIODeadline.now() < deadline else {
            // Too late to send: the connection was not used, so it stays good for others.
            self.release(channel, reusable: true)
            throw HTTP1TransportError.timeout
        }
        let promise = channel.eventLoop.makePromise(of: HTTP1Response.self)
        let exchange = HTTP1Exchange(request: makeRequest(channel.allocator), deadline: deadline, promise: promise)
        // A write to a channel that closed meanwhile never reaches the exchange handler (NIO removes the
        // handlers of a closed channel): the failed write must fail the exchange, or it would wait forever.
        channel.writeAndFlush(exchange).cascadeFailure(to: promise)
        do {
            let response = try await promise.futureResult.get()
            self.release(channel, reusable: response.keepAlive)
            return response
        } catch {
            self.release(channel, reusable: false)
            throw error
        }
    }

    /// Closes every connection and fails waiting requests. Exchanges in flight fail.
    func shutdown() async {
        let (channels, waiters) = self.state.withLock { $0.shutdown() }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: HTTP1TransportError.poolShutDown)
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    // MARK: - Leasing

    private func leaseConnection(deadline: NIODeadline) async throws -> any Channel {
        // A task cancelled before it asked (or before it ran at all) writes nothing, even when a
        // connection happens to be idle.
        try Task.checkCancellation()
        let lease: Lease
        if let immediate = try self.tryLease() {
            lease = immediate
        } else {
            lease = try await self.waitForLease(deadline: deadline)
        }
        switch lease {
        case .connection(let channel):
            return channel
        case .connect:
            return try await self.connect(deadline: deadline)
        }
    }

    /// Fast path, without suspending: an idle connection or the right to open one, nil when every
    /// slot is busy.
    private func tryLease() throws -> Lease? {
        var stale: [any Channel] = []
        defer { Self.close(stale) }
        return try self.state.withLock { state in try state.lease(now: .now(), stale: &stale) }
    }

    /// Slow path: every connection is busy. Re-checks under the lock, then queues until a connection or
    /// slot is handed over, the deadline passes or the task is cancelled.
    private func waitForLease(deadline: NIODeadline) async throws -> Lease {
        let id = self.state.withLock { $0.makeWaiterID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                guard !Task.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                var stale: [any Channel] = []
                defer { Self.close(stale) }
                let waiter = Waiter(id: id, continuation: continuation, timer: nil)
                let decision = self.state.withLock { state in
                    state.leaseOrQueue(waiter, deadline: deadline, now: .now(), stale: &stale)
                }
                switch decision {
                case .use(let channel):
                    continuation.resume(returning: .connection(channel))
                case .connect:
                    continuation.resume(returning: .connect)
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .queued:
                    let timer = self.group.any().scheduleTask(deadline: deadline) {
                        self.abandonWaiter(id: id, error: HTTP1TransportError.timeout)
                    }
                    if !self.state.withLock({ $0.setTimer(timer, forWaiter: id) }) {
                        timer.cancel()  // served (or failed) already
                    }
                }
            }
        } onCancel: {
            self.abandonWaiter(id: id, error: CancellationError())
        }
    }

    /// Fails a queued request (deadline passed, task cancelled) unless it was served meanwhile.
    private func abandonWaiter(id: UInt64, error: any Error) {
        guard let waiter = self.state.withLock({ $0.removeWaiter(id: id) }) else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Returns a connection after an exchange: to a waiter, to the idle list, or closed.
    private func release(_ channel: any Channel, reusable: Bool) {
        let action = self.state.withLock { $0.release(channel, reusable: reusable, now: .now()) }
        switch action {
        case .keep:
            break
        case .handOver(let waiter):
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: .connection(channel))
        case .close(let grant):
            channel.close(promise: nil)
            if let grant {
                grant.timer?.cancel()
                grant.continuation.resume(returning: .connect)
            }
        }
    }

    private static func close(_ channels: [any Channel]) {
        for channel in channels {
            channel.close(promise: nil)
        }
    }

    // MARK: - Connecting

    /// Opens a connection for a lease already counted as a slot; gives the slot back on failure.
    /// Connecting (and the proxy tunnel) is bounded by the request's deadline as well as `connectTimeout`.
    private func connect(deadline: NIODeadline) async throws -> any Channel {
        let channel: any Channel
        do {
            let remaining = deadline - .now()
            guard remaining > .zero else { throw HTTP1TransportError.timeout }
            channel = try await self.openChannel(
                connectTimeout: min(self.configuration.connectTimeout, remaining), deadline: deadline)
        } catch {
            if let waiter = self.state.withLock({ $0.connectFailed() }) {
                waiter.timer?.cancel()
                waiter.continuation.resume(returning: .connect)
            }
            throw error
        }
        guard self.state.withLock({ $0.connected(channel) }) else {
            channel.close(promise: nil)
            throw HTTP1TransportError.poolShutDown
        }
        return channel
    }

    /// A connected channel with the HTTP handlers in place: directly to the endpoint, or through a
    /// `CONNECT` tunnel opened on the proxy first (TLS to the endpoint then runs inside the tunnel).
    private func openChannel(connectTimeout: TimeAmount, deadline: NIODeadline) async throws -> any Channel {
        let endpoint = self.configuration.endpoint
        let sslContext = self.sslContext
        let bodyPrefixLimit = self.configuration.bodyPrefixLimit
        let eventLoop = self.group.any()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
        guard let proxy = self.configuration.proxy, let tunnelRequest = self.tunnelRequest else {
            return try await bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.addHTTPHandlers(
                        to: channel, endpoint: endpoint, sslContext: sslContext, bodyPrefixLimit: bodyPrefixLimit)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .get()
        }
        // The promise exists before the connection so that a tunnel answered (or refused) at once is not missed.
        let established = eventLoop.makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tunnel = HTTP1ProxyTunnelHandler(
                        request: tunnelRequest, deadline: deadline, established: established)
                    try channel.pipeline.syncOperations.addHandler(tunnel)
                }
            }
            .connect(host: proxy.host, port: proxy.port)
            .get()
        } catch {
            established.fail(error)
            throw error
        }
        do {
            try await established.futureResult.get()
            try await channel.eventLoop.submit {
                try Self.addHTTPHandlers(
                    to: channel, endpoint: endpoint, sslContext: sslContext, bodyPrefixLimit: bodyPrefixLimit)
            }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return channel
    }

    /// TLS (when the endpoint is https), the request encoder, the response decoder and the exchange handler.
    private static func addHTTPHandlers(
        to channel: any Channel,
        endpoint: HTTP1Endpoint,
        sslContext: NIOSSLContext?,
        bodyPrefixLimit: Int
    ) throws {
        let handlers = channel.pipeline.syncOperations
        if let sslContext {
            let serverHostname = endpoint.hostIsIPAddress ? nil : endpoint.host
            try handlers.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
        }
        try handlers.addHandler(HTTP1PreparedRequestEncoder())
        try handlers.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
        try handlers.addHandler(HTTP1ExchangeHandler(bodyPrefixLimit: bodyPrefixLimit))
    }
}
