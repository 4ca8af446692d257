import Dispatch
import Logging
import Synchronization

/// Produces records and awaits their delivery reports.
///
/// A dedicated queue polls librdkafka (`rd_kafka_poll`) for delivery reports; each record's opaque id
/// finds its waiting continuation. Every ``send(_:)`` either fails synchronously or gets exactly one
/// delivery report (or, after ``close()``, a "closed" error), so no continuation leaks.
/// The librdkafka handle is destroyed when the producer is deinitialised.
public final class KafkaProducer: Sendable {
    let client: RDKafkaClient
    private let waiters: DeliveryWaiters
    private let logger: Logger
    private let opsQueue: DispatchQueue
    private let pollQueue: DispatchQueue
    private let state = Mutex<State>(.running)
    private let pollLoopStopped: DispatchSemaphore
    private let stopPolling: PollLoopFlag

    private enum State {
        case running
        case closing
        case closed
    }

    /// Creates the producer and starts its delivery-report thread.
    /// - Throws: ``KafkaError`` naming an invalid property.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let waiters = DeliveryWaiters()
        let context = RDKafkaCallbackContext(logger: logger) { id, result in
            waiters.resume(id: id, with: result)
        }
        let client = try RDKafkaClient.make(.producer, properties: configuration.properties(), context: context)
        self.client = client
        self.waiters = waiters
        self.logger = client.logger
        self.opsQueue = DispatchQueue(label: "june-relay.kafka.producer.\(client.name).ops")
        self.pollQueue = DispatchQueue(label: "june-relay.kafka.producer.\(client.name).poll")
        let stopped = DispatchSemaphore(value: 0)
        let flag = PollLoopFlag()
        self.pollLoopStopped = stopped
        self.stopPolling = flag
        // The loop holds the client (not the producer), so the producer can be deinitialised; its deinit
        // stops the loop, which then releases the client (destroying the handle).
        pollQueue.async {
            while !flag.isSet {
                client.poll(timeoutMilliseconds: 100)
            }
            stopped.signal()
        }
    }

    deinit {
        stopPolling.set()
    }

    /// Enqueues the record and waits for its delivery report.
    ///
    /// When librdkafka's local queue is full, waits (asynchronously) and retries until it has room.
    /// Cancellation is not forwarded: once enqueued, the record is delivered or fails on its own.
    /// - Throws: ``KafkaError`` for a synchronous failure (unknown partition, record too large, closed)
    ///   or a failed delivery (broker error, message timeout).
    public func send(_ record: KafkaProducerRecord) async throws(KafkaError) -> KafkaDeliveryReport {
        while true {
            guard state.withLock({ $0 == .running }) else { throw KafkaError.closed("Kafka producer") }
            // A producer in librdkafka's fatal state (e.g. an idempotence sequence error) fails every
            // record from now on: say so with an error whose `isFatal` is set, so the owner replaces it.
            if let fatal = client.fatalErrorState() { throw fatal }
            let id = waiters.nextID()
            let client = self.client
            let waiters = self.waiters
            let result: Result<KafkaDeliveryReport, KafkaError>? = await withCheckedContinuation { continuation in
                waiters.register(id: id, continuation)
                do throws(KafkaError) {
                    switch try client.produce(record, id: id) {
                    case .enqueued:
                        break  // the delivery report resumes the continuation
                    case .queueFull:
                        waiters.resume(id: id, with: nil)
                    }
                } catch {
                    waiters.resume(id: id, with: .failure(error))
                }
            }
            if let result {
                if case .failure(let error) = result, !error.isFatal, let fatal = client.fatalErrorState() { throw fatal }
                return try result.get()
            }
            // Queue full: let the poll thread drain delivery reports, then try again.
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// librdkafka's fatal error, when the producer is in the fatal state (it cannot produce any more and
    /// must be replaced); `nil` while healthy.
    public var fatalFailure: KafkaError? { client.fatalErrorState() }

    /// Waits until every enqueued record got its delivery report, or `timeout` passed (then throws
    /// ``KafkaError/Code/timedOut``). Runs on the producer's own queue.
    public func flush(timeout: Duration) async throws(KafkaError) {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        try await opsQueue.runBlocking { () throws(KafkaError) in try client.flush(timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Flushes (up to `timeout`), fails what is still outstanding, and stops the delivery-report thread.
    /// Idempotent. Later ``send(_:)`` calls throw. The handle itself is destroyed at deinit.
    public func close(timeout: Duration = .seconds(30)) async {
        let shouldClose = state.withLock { state in
            guard state == .running else { return false }
            state = .closing
            return true
        }
        guard shouldClose else { return }
        let client = self.client
        let logger = self.logger
        let flag = self.stopPolling
        let stopped = self.pollLoopStopped
        let waiters = self.waiters
        let timeoutMilliseconds = timeout.clampedMilliseconds
        await opsQueue.runNonThrowing {
            do throws(KafkaError) {
                try client.flush(timeoutMilliseconds: timeoutMilliseconds)
            } catch {
                logger.warning(
                    "Kafka producer flush incomplete at close; failing outstanding records",
                    metadata: [KafkaLoggingKeys.errorReason: "\(error)"])
                client.purgeAll()
                // Serve the purge reports so each waiter gets its own error.
                for _ in 0..<10 where client.outQueueLength > 0 { client.poll(timeoutMilliseconds: 100) }
            }
            flag.set()
            stopped.wait()
            waiters.failAll(KafkaError.closed("Kafka producer"))
            logger.info("Kafka producer closed")
        }
        state.withLock { $0 = .closed }
    }
}

/// Set once to stop the delivery-report loop.
private final class PollLoopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// The continuations of records waiting for their delivery report, by message id.
/// A `nil` result means "not enqueued, queue full: try again".
final class DeliveryWaiters: Sendable {
    typealias Waiter = CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>?, Never>
    private let table = Mutex<(next: UInt, waiting: [UInt: Waiter])>((1, [:]))

    func nextID() -> UInt {
        table.withLock { table in
            defer { table.next = table.next == UInt.max ? 1 : table.next + 1 }
            return table.next
        }
    }

    func register(id: UInt, _ waiter: Waiter) {
        table.withLock { $0.waiting[id] = waiter }
    }

    /// Resumes and forgets the waiter; a second report for the same id is ignored.
    func resume(id: UInt, with result: Result<KafkaDeliveryReport, KafkaError>?) {
        let waiter = table.withLock { $0.waiting.removeValue(forKey: id) }
        waiter?.resume(returning: result)
    }

    func failAll(_ error: KafkaError) {
        let waiters = table.withLock { table in
            defer { table.waiting.removeAll() }
            return Array(table.waiting.values)
        }
        for waiter in waiters { waiter.resume(returning: .failure(error)) }
    }
}
