import Dispatch
import Logging
import Synchronization

/// A member of a Kafka consumer group that reads records in batches and commits offsets explicitly.
///
/// Threading: every blocking librdkafka call (`poll`, `commit`, `committed`, `close`) runs on a serial
/// `DispatchQueue` owned by the consumer (`pollQueue`), never on Swift's cooperative pool. The rebalance
/// callback (and so the ``KafkaRebalanceHandler``) runs on that queue, inside ``poll(maxMessages:timeout:)``
/// or ``close()``. `pause`, `resume`, `assignment` and `watermarks` are non-blocking and run inline.
///
/// The librdkafka handle is destroyed when the consumer is deinitialised; call ``close()`` first to
/// leave the group cleanly.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let pollQueue: DispatchQueue
    private let logger: Logger
    private let groupID: String
    /// How long a timed-out commit may still be made (see ``KafkaConsumerConfiguration/lateCommitWindow``).
    public let lateCommitWindow: Duration
    private let isClosed = Atomic<Bool>(false)

    /// Creates the consumer (no network activity until ``subscribe(topics:)``).
    /// - Throws: ``KafkaError`` with code ``KafkaError/Code/invalidArgument`` naming an invalid property.
    public init(
        configuration: KafkaConsumerConfiguration,
        logger: Logger,
        rebalanceHandler: (any KafkaRebalanceHandler)? = nil
    ) throws(KafkaError) {
        var logger = logger
        logger[metadataKey: KafkaLoggingKeys.groupID] = "\(configuration.groupID)"
        let context = RDKafkaCallbackContext(logger: logger, onStatistics: configuration.statisticsHandler)
        self.client = try RDKafkaClient.make(.consumer, properties: configuration.properties(), context: context)
        self.logger = client.logger
        self.groupID = configuration.groupID
        self.lateCommitWindow = configuration.lateCommitWindow
        self.pollQueue = DispatchQueue(label: "june-relay.kafka.consumer.\(client.name)")
        if let rebalanceHandler {
            context.setRebalanceObserver { [weak self] event in
                // `self` is nil only while the consumer is being deinitialised (destroy closes the consumer).
                guard let self else { return }
                switch event {
                case .assigned(let partitions):
                    rebalanceHandler.partitionsAssigned(partitions, consumer: self)
                case .revoked(let partitions, lost: false):
                    rebalanceHandler.partitionsRevoked(partitions, consumer: self)
                case .revoked(let partitions, lost: true):
                    rebalanceHandler.partitionsLost(partitions, consumer: self)
                }
            }
        }
    }

    /// Subscribes to the topics (joins the group on the next ``poll(maxMessages:timeout:)``). Non-blocking.
    public func subscribe(topics: [String]) throws(KafkaError) {
        try checkOpen()
        try client.subscribe(topics: topics)
        logger.info("Kafka consumer subscribed", metadata: [KafkaLoggingKeys.topic: "\(topics.joined(separator: ","))"])
    }

    /// Waits up to `timeout` for the first message, then takes whatever else is immediately available,
    /// up to `maxMessages`. Returns `[]` when nothing arrived in time.
    ///
    /// Runs on the consumer's own queue. Non-fatal consumer errors are logged and skipped; partition EOF
    /// is ignored; a fatal error throws (with ``KafkaError/isFatal`` set).
    public func poll(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> [KafkaMessage] {
        precondition(maxMessages > 0, "maxMessages must be positive")
        try checkOpen()
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await pollQueue.runBlocking { () throws(KafkaError) -> [KafkaMessage] in
            try client.consumerPoll(maxMessages: maxMessages, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// Commits offsets and waits for the broker's answer. Each value is the NEXT offset to read (last
    /// done + 1). Runs on the consumer's queue (after a poll in progress returns).
    public func commit(_ offsets: [KafkaTopicPartition: Int64], timeout: Duration = KafkaConsumer.commitTimeout) async throws(KafkaError) {
        try await commit(offsets.mapValues { KafkaOffsetCommit(offset: $0) }, timeout: timeout)
    }

    /// ``commit(_:timeout:)``, blocking the calling thread. Meant for the rebalance handler (already on
    /// the poll queue); from anywhere else, use ``commit(_:timeout:)``. Blocks until the broker
    /// answered or `timeout` passed (then throws a retriable timeout error).
    public func commitOnCallingThread(_ offsets: [KafkaTopicPartition: Int64], timeout: Duration = KafkaConsumer.commitTimeout) throws(KafkaError) {
        try commitOnCallingThread(offsets.mapValues { KafkaOffsetCommit(offset: $0) }, timeout: timeout)
    }

    /// Commits offsets with their metadata strings (see ``KafkaOffsetCommit``). Runs on the consumer's queue.
    ///
    /// A commit that timed out is not cancelled: librdkafka may still make it within
    /// ``lateCommitWindow``, after a later commit of the same partitions.
    public func commit(_ offsets: [KafkaTopicPartition: KafkaOffsetCommit], timeout: Duration = KafkaConsumer.commitTimeout) async throws(KafkaError)
    {
        guard !offsets.isEmpty else { return }
        let client = self.client
        let milliseconds = timeout.clampedMilliseconds
        try await pollQueue.runBlocking { () throws(KafkaError) in try client.commit(offsets, timeoutMilliseconds: milliseconds) }
    }

    /// ``commit(_:timeout:)-(KafkaOffsetCommit)``, blocking the calling thread, for the rebalance handler.
    public func commitOnCallingThread(_ offsets: [KafkaTopicPartition: KafkaOffsetCommit], timeout: Duration = KafkaConsumer.commitTimeout)
        throws(KafkaError)
    {
        try client.commit(offsets, timeoutMilliseconds: timeout.clampedMilliseconds)
    }

    /// Commits offsets with their metadata strings and returns the partitions the broker refused, with
    /// each one's error (empty: all committed). Throws when the commit failed as a whole (no answer in
    /// `timeout`, no coordinator). Runs on the consumer's queue.
    public func commitReportingPartitions(
        _ offsets: [KafkaTopicPartition: KafkaOffsetCommit],
        timeout: Duration = KafkaConsumer.commitTimeout
    ) async throws(KafkaError) -> [KafkaTopicPartition: KafkaError] {
        let client = self.client
        let milliseconds = timeout.clampedMilliseconds
        return try await pollQueue.runBlocking { () throws(KafkaError) -> [KafkaTopicPartition: KafkaError] in
            try client.commitReportingPartitions(offsets, timeoutMilliseconds: milliseconds)
        }
    }

    /// ``commitReportingPartitions(_:timeout:)`` on the calling thread, for the rebalance handler.
    public func commitReportingPartitionsOnCallingThread(
        _ offsets: [KafkaTopicPartition: KafkaOffsetCommit],
        timeout: Duration = KafkaConsumer.commitTimeout
    ) throws(KafkaError) -> [KafkaTopicPartition: KafkaError] {
        try client.commitReportingPartitions(offsets, timeoutMilliseconds: timeout.clampedMilliseconds)
    }

    /// The group's committed offsets with their metadata, read on the calling thread (blocking): for the
    /// rebalance handler, which runs on the poll queue already.
    public func committedOnCallingThread(_ partitions: [KafkaTopicPartition], timeout: Duration) throws(KafkaError) -> [KafkaTopicPartition:
        KafkaOffsetCommit]
    {
        try client.committedWithMetadata(partitions, timeoutMilliseconds: timeout.clampedMilliseconds)
    }

    /// The group's committed offsets with their metadata. Runs on the consumer's queue.
    public func committedWithMetadata(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws(KafkaError) -> [KafkaTopicPartition:
        KafkaOffsetCommit]
    {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await pollQueue.runBlocking { () throws(KafkaError) -> [KafkaTopicPartition: KafkaOffsetCommit] in
            try client.committedWithMetadata(partitions, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// How long a commit waits for the broker's answer by default: 10 s.
    public static let commitTimeout: Duration = .seconds(10)

    /// The group's committed offsets (next offset to read). Partitions without a committed offset are
    /// left out of the result.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await pollQueue.runBlocking { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            try client.committed(partitions, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// Stops fetching the partitions (records already fetched are discarded). Non-blocking; any thread.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        try client.pause(partitions)
    }

    /// Resumes fetching paused partitions from their current position. Non-blocking; any thread.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        try client.resume(partitions)
    }

    /// The partitions currently assigned to this member, sorted. Non-blocking; any thread.
    public func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        try client.assignment()
    }

    /// The last low/high watermarks librdkafka saw for the partition (from fetch responses), or `nil`
    /// when unknown. Non-blocking; for lag metrics (`high - committed`).
    public func watermarks(_ tp: KafkaTopicPartition) -> (low: Int64, high: Int64)? {
        client.cachedWatermarks(tp)
    }

    /// Leaves the group (the rebalance handler sees the revoke and can commit) and stops fetching.
    /// Idempotent: later calls return at once. After closing, `poll` and `subscribe` throw.
    public func close() async throws(KafkaError) {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let client = self.client
        let logger = self.logger
        try await pollQueue.runBlocking { () throws(KafkaError) in
            logger.info("Kafka consumer closing")
            try client.consumerClose()
            logger.info("Kafka consumer closed")
        }
    }

    /// ``close()``, but returns after `timeout` even when librdkafka's close has not: with every broker
    /// unreachable, or when an assignment arrives during the close (librdkafka 2.0.2 can then hang,
    /// librdkafka issue #4527), `rd_kafka_consumer_close` can wait far longer than a shutdown may take. The close then
    /// goes on in the background (on the consumer's queue) and the caller proceeds; a process that exits
    /// next loses nothing, because offsets were committed (or not) before.
    public func close(timeout: Duration) async throws(KafkaError) {
        let race = CloseRace()
        let result: Result<Void, KafkaError>? = await withCheckedContinuation { continuation in
            race.begin(continuation)
            // Unstructured on purpose: a close blocked inside librdkafka cannot be cancelled, and the
            // caller must not wait for it. It ends when librdkafka returns (or with the process).
            Task {
                do throws(KafkaError) {
                    try await self.close()
                    race.complete(with: .success(()))
                } catch {
                    race.complete(with: .failure(error))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                race.complete(with: nil)
            }
        }
        switch result {
        case .none:
            logger.warning("Kafka consumer close did not finish in time; continuing without it")
        case .success:
            break
        case .failure(let error):
            throw error
        }
    }

    private func checkOpen() throws(KafkaError) {
        if isClosed.load(ordering: .acquiring) { throw KafkaError.closed("Kafka consumer of group \(groupID)") }
    }
}

/// The first of "close finished" and "timeout passed" resumes the waiter; the other is ignored.
private final class CloseRace: Sendable {
    typealias Waiter = CheckedContinuation<Result<Void, KafkaError>?, Never>
    private let waiter = Mutex<Waiter?>(nil)

    func begin(_ continuation: Waiter) {
        waiter.withLock { $0 = continuation }
    }

    func complete(with result: Result<Void, KafkaError>?) {
        waiter.withLock { waiter in
            defer { waiter = nil }
            return waiter
        }?.resume(returning: result)
    }
}
