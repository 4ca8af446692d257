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
/// Connections are closed when the server says so, after any failed exchange, when idle longer than
/// `idleTimeout` (checked when they would be reused) and at `shutdown()`.
final class HTTP1ConnectionPool: Sendable {
    struct Configuration: Sendable {
        var endpoint: HTTP1Endpoint
        var maxConnections: Int
        var connectTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var bodyPrefixLimit: Int
    }

    private struct IdleConnection {
        var channel: any Channel
        var since: NIODeadline
    }

    /// What a waiting request is handed: a connection, or the right to open one.
    private enum Lease {
        case connection(any Channel)
        case connect
    }

    private struct State {
        var idle: [IdleConnection] = []
        /// Connections open or being opened, idle or busy.
        var open = 0
        var waiters = CircularBuffer<CheckedContinuation<Lease, any Error>>()
        /// Every open channel, to close at shutdown.
        var channels: [ObjectIdentifier: any Channel] = [:]
        var isShutDown = false

        /// Takes an idle connection still worth using, else the right to open one, else nil (wait).
        /// Connections found dead or idle too long are appended to `stale` for the caller to close.
        mutating func lease(now: NIODeadline, idleTimeout: TimeAmount, maxConnections: Int, stale: inout [any Channel]) -> Lease? {
            while let candidate = self.idle.popLast() {
                if candidate.channel.isActive, now - candidate.since < idleTimeout {
                    return .connection(candidate.channel)
                }
                self.forget(candidate.channel)
                stale.append(candidate.channel)
            }
            if self.open < maxConnections {
                self.open += 1
                return .connect
            }
            return nil
        }

        mutating func forget(_ channel: any Channel) {
            if self.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
                self.open -= 1
            }
        }
    }

    private let configuration: Configuration
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let state = Mutex(State())

    init(configuration: Configuration, tlsConfiguration: TLSConfiguration?, group: any EventLoopGroup) throws {
        self.configuration = configuration
        self.group = group
        if configuration.endpoint.usesTLS {
            self.sslContext = try NIOSSLContext(configuration: tlsConfiguration ?? .makeClientConfiguration())
        } else {
            self.sslContext = nil
        }
    }

    /// Runs one exchange: leases a connection, writes `request`, waits for the answer, returns the
    /// connection to the pool (or closes it). Throws `HTTP1TransportError`, connect or TLS errors.
    func execute(_ makeRequest: (ByteBufferAllocator) -> ByteBuffer, deadline: NIODeadline) async throws -> HTTP1Response {
        let channel = try await self.leaseConnection()
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
        let (channels, waiters) = self.state.withLock { state in
            state.isShutDown = true
            let channels = Array(state.channels.values)
            let waiters = state.waiters
            state.waiters.removeAll()
            state.idle.removeAll()
            return (channels, waiters)
        }
        for waiter in waiters {
            waiter.resume(throwing: HTTP1TransportError.poolShutDown)
        }
        for channel in channels {
            try? await channel.close()
        }
    }

    // MARK: - Leasing

    private func leaseConnection() async throws -> any Channel {
        let lease: Lease
        if let immediate = try self.tryLease() {
            lease = immediate
        } else {
            lease = try await self.waitForLease()
        }
        switch lease {
        case .connection(let channel):
            return channel
        case .connect:
            return try await self.connect()
        }
    }

    /// Fast path, without suspending: an idle connection or the right to open one, nil when every
    /// slot is busy.
    private func tryLease() throws -> Lease? {
        var stale: [any Channel] = []
        defer { Self.close(stale) }
        return try self.state.withLock { state in try self.lease(&state, stale: &stale) }
    }

    /// Slow path: every connection is busy. Re-checks under the lock, then queues.
    private func waitForLease() async throws -> Lease {
        var stale: [any Channel] = []
        defer { Self.close(stale) }
        return try await withCheckedThrowingContinuation { continuation in
            let immediate: Result<Lease, any Error>? = self.state.withLock { state in
                do {
                    if let lease = try self.lease(&state, stale: &stale) { return .success(lease) }
                } catch {
                    return .failure(error)
                }
                state.waiters.append(continuation)
                return nil
            }
            if let immediate {
                continuation.resume(with: immediate)
            }
        }
    }

    /// Under the lock. Dead or expired idle connections found on the way go to `stale`, for the caller
    /// to close after unlocking.
    private func lease(_ state: inout State, stale: inout [any Channel]) throws -> Lease? {
        if state.isShutDown { throw HTTP1TransportError.poolShutDown }
        return state.lease(
            now: .now(),
            idleTimeout: self.configuration.idleTimeout,
            maxConnections: self.configuration.maxConnections,
            stale: &stale
        )
    }

    /// Opens a connection for a lease already counted in `open`; gives the slot back on failure.
    private func connect() async throws -> any Channel {
        let channel: any Channel
        do {
            channel = try await self.makeBootstrap()
                .connect(host: self.configuration.endpoint.host, port: self.configuration.endpoint.port)
                .get()
        } catch {
            self.slotFreed(closing: nil)
            throw error
        }
        let isShutDown = self.state.withLock { state in
            if !state.isShutDown {
                state.channels[ObjectIdentifier(channel)] = channel
            }
            return state.isShutDown
        }
        if isShutDown {
            channel.close(promise: nil)
            throw HTTP1TransportError.poolShutDown
        }
        return channel
    }

    /// Returns a connection after an exchange: to a waiter, to the idle list, or closed.
    private func release(_ channel: any Channel, reusable: Bool) {
        if reusable && channel.isActive {
            let waiter: CheckedContinuation<Lease, any Error>? = self.state.withLock { state in
                guard !state.isShutDown else { return nil }
                if let waiter = state.waiters.popFirst() {
                    return waiter
                }
                state.idle.append(IdleConnection(channel: channel, since: .now()))
                return nil
            }
            waiter?.resume(returning: .connection(channel))
            // Shut down meanwhile: `shutdown()` closes every channel it knew of, this one included.
        } else {
            self.slotFreed(closing: channel)
        }
    }

    /// A connection slot became free (a connection closed or failed to open): the first waiter, if any,
    /// gets the right to open a new one.
    private func slotFreed(closing channel: (any Channel)?) {
        let waiter: CheckedContinuation<Lease, any Error>? = self.state.withLock { state in
            if let channel {
                state.forget(channel)
            } else {
                state.open -= 1
            }
            guard !state.isShutDown, let waiter = state.waiters.popFirst() else { return nil }
            state.open += 1
            return waiter
        }
        channel?.close(promise: nil)
        waiter?.resume(returning: .connect)
    }

    private static func close(_ channels: [any Channel]) {
        for channel in channels {
            channel.close(promise: nil)
        }
    }

    private func makeBootstrap() -> ClientBootstrap {
        let endpoint = self.configuration.endpoint
        let sslContext = self.sslContext
        let bodyPrefixLimit = self.configuration.bodyPrefixLimit
        return ClientBootstrap(group: self.group)
            .connectTimeout(self.configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
    }
}
