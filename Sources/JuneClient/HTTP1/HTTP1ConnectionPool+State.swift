import NIOCore

extension HTTP1ConnectionPool {
    /// What a waiting request is handed: a connection, or the right to open one.
    enum Lease {
        case connection(any Channel)
        case connect
    }

    /// A request queued for a connection. `timer` fails it at its deadline.
    struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Lease, any Error>
        var timer: Scheduled<Void>?
    }

    /// The pool's bookkeeping as a value: idle connections, the count of connection slots in use, every
    /// open channel and the queue of waiting requests. Every change goes through a method that returns
    /// what the pool must do outside the lock (resume a waiter, close channels), so the count of open
    /// connections and the channels are only ever changed here.
    struct State {
        private struct IdleConnection {
            var channel: any Channel
            var since: NIODeadline
        }

        /// The answer to a request for a connection.
        enum LeaseDecision {
            /// Use this idle connection.
            case use(any Channel)
            /// Open a new connection (its slot is already counted).
            case connect
            /// Every slot is busy: the waiter was queued.
            case queued
            /// The pool is shut down, or the request's deadline passed while everything was busy.
            case fail(any Error)
        }

        /// What to do with a connection after an exchange.
        enum ReleaseAction {
            /// Kept idle for the next request.
            case keep
            /// Hand it to this waiter.
            case handOver(Waiter)
            /// Close it; if a waiter is given, it may open a new connection in the freed slot.
            case close(grant: Waiter?)
        }

        let maxConnections: Int
        let idleTimeout: TimeAmount
        private var idle: [IdleConnection] = []
        /// Connection slots in use: connections open or being opened, idle or busy.
        private var open = 0
        /// Every open channel, to close at shutdown.
        private var channels: [ObjectIdentifier: any Channel] = [:]
        private var waiters = CircularBuffer<Waiter>()
        private var nextWaiterID: UInt64 = 0
        private(set) var isShutDown = false

        init(maxConnections: Int, idleTimeout: TimeAmount) {
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
        }

        /// A fresh id for a waiter.
        mutating func makeWaiterID() -> UInt64 {
            self.nextWaiterID &+= 1
            return self.nextWaiterID
        }

        /// An idle connection still worth using, else the right to open one, else nil (every slot busy).
        /// Connections found dead or idle too long are forgotten and appended to `stale` for the caller
        /// to close after unlocking.
        mutating func lease(now: NIODeadline, stale: inout [any Channel]) throws -> Lease? {
            if self.isShutDown { throw HTTP1TransportError.poolShutDown }
            while let candidate = self.idle.popLast() {
                if candidate.channel.isActive, now - candidate.since < self.idleTimeout {
                    return .connection(candidate.channel)
                }
                self.forget(candidate.channel)
                stale.append(candidate.channel)
            }
            if self.open < self.maxConnections {
                self.open += 1
                return .connect
            }
            return nil
        }

        /// `lease`, else queues `waiter` — unless its deadline has already passed (it would never be served
        /// in time: fail it now).
        mutating func leaseOrQueue(
            _ waiter: Waiter, deadline: NIODeadline, now: NIODeadline, stale: inout [any Channel]
        ) -> LeaseDecision {
            do {
                switch try self.lease(now: now, stale: &stale) {
                case .connection(let channel): return .use(channel)
                case .connect: return .connect
                case nil: break
                }
            } catch {
                return .fail(error)
            }
            guard now < deadline else { return .fail(HTTP1TransportError.timeout) }
            self.waiters.append(waiter)
            return .queued
        }

        /// Sets the deadline timer of a queued waiter; false when it is no longer queued (the caller cancels the timer).
        mutating func setTimer(_ timer: Scheduled<Void>, forWaiter id: UInt64) -> Bool {
            guard let index = self.waiters.firstIndex(where: { $0.id == id }) else { return false }
            self.waiters[index].timer = timer
            return true
        }

        /// Takes a queued waiter out (its deadline passed or its task was cancelled); nil when it was served already.
        mutating func removeWaiter(id: UInt64) -> Waiter? {
            guard let index = self.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return self.waiters.remove(at: index)
        }

        /// A connection opened for a `.connect` lease. False when the pool was shut down meanwhile: the
        /// caller closes the channel (its slot is given back here).
        mutating func connected(_ channel: any Channel) -> Bool {
            guard !self.isShutDown else {
                self.open -= 1
                return false
            }
            self.channels[ObjectIdentifier(channel)] = channel
            return true
        }

        /// Opening a connection failed: its slot is free; the first waiter, if any, may open one.
        mutating func connectFailed() -> Waiter? {
            self.open -= 1
            return self.grantSlot()
        }

        /// A connection is back after an exchange (or was never used).
        mutating func release(_ channel: any Channel, reusable: Bool, now: NIODeadline) -> ReleaseAction {
            if reusable, channel.isActive, !self.isShutDown {
                if let waiter = self.waiters.popFirst() {
                    return .handOver(waiter)
                }
                self.idle.append(IdleConnection(channel: channel, since: now))
                return .keep
            }
            self.forget(channel)
            return .close(grant: self.grantSlot())
        }

        /// Marks the pool shut down and returns every channel to close and every waiter to fail.
        mutating func shutdown() -> (channels: [any Channel], waiters: [Waiter]) {
            self.isShutDown = true
            let channels = Array(self.channels.values)
            let waiters = Array(self.waiters)
            self.waiters.removeAll()
            self.idle.removeAll()
            return (channels, waiters)
        }

        /// After a slot was freed: the first waiter gets the right to open a connection in it.
        private mutating func grantSlot() -> Waiter? {
            guard !self.isShutDown, self.open < self.maxConnections, let waiter = self.waiters.popFirst() else {
                return nil
            }
            self.open += 1
            return waiter
        }

        private mutating func forget(_ channel: any Channel) {
            if self.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil {
                self.open -= 1
            }
        }
    }
}
