import CoreMetrics
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// The relay: Kafka consumer → transform → keyed dispatcher → June sender → offset tracker → commit,
/// with the dead-letter producer beside the sender (spec §1–§6).
///
/// One fetch task polls librdkafka, transforms each record, queues it in its lane and commits moved
/// watermarks every `commitInterval`. Workers (at most `maxInFlight` at a time) send lane heads to June,
/// dead-letter what cannot be delivered and mark offsets done. All shared state lives in one `Mutex`.
public final class Pipeline: Service, Sendable {
    let configuration: PipelineConfiguration
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let sender: any JuneSending
    let transformer: JuneTransformer
    let metrics: PipelineMetrics
    let logger: Logger
    let state: SharedPipelineState
    private let stopRequested = Atomic<Bool>(false)

    /// Builds the pipeline and its consumer. The consumer's rebalance callbacks go to the pipeline.
    public init(
        configuration: PipelineConfiguration,
        consumerConfiguration: KafkaConsumerConfiguration,
        producer: KafkaProducer,
        sender: any JuneSending,
        metrics: PipelineMetrics = PipelineMetrics(),
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.producer = producer
        self.sender = sender
        self.metrics = metrics
        self.logger = logger
        self.transformer = JuneTransformer(maxEventBytes: configuration.maxEventBytes)
        let state = SharedPipelineState(PipelineState(maxInFlight: configuration.maxInFlight))
        self.state = state
        let handler = PipelineRebalanceHandler(
            state: state,
            drainTimeout: configuration.drainTimeout,
            metrics: metrics,
            logger: logger
        )
        self.consumer = try KafkaConsumer(
            configuration: consumerConfiguration,
            logger: logger,
            rebalanceHandler: handler
        )
    }

    /// True once partitions are assigned and June is not in an outage (spec §8 `/readyz`).
    public var isReady: Bool {
        state.withLock { !$0.assigned.isEmpty && !$0.isInOutage }
    }

    /// A snapshot for progress displays and health checks.
    public struct Snapshot: Sendable {
        public var assignedPartitions: Int
        public var inFlight: Int
        public var buffered: Int
        public var inOutage: Bool
    }

    public var snapshot: Snapshot {
        state.withLock {
            Snapshot(
                assignedPartitions: $0.assigned.count,
                inFlight: $0.lanes.running,
                buffered: $0.tracker.totalPending,
                inOutage: $0.isInOutage
            )
        }
    }

    public func run() async throws {
        try consumer.subscribe(topics: configuration.topics)
        logger.info("Pipeline started", metadata: ["kafka.topics": "\(configuration.topics.joined(separator: ","))"])
        do {
            try await withGracefulShutdownHandler {
                try await fetchLoop()
            } onGracefulShutdown: {
                self.stopRequested.store(true, ordering: .relaxed)
            }
        } catch {
            logger.error("Pipeline failed", metadata: ["error": "\(error)"])
            await shutDown()
            throw error
        }
        await shutDown()
    }

    /// Asks the fetch loop to stop (the same as a graceful shutdown of the service).
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    // MARK: - Fetching

    private func fetchLoop() async throws {
        var paused: Set<KafkaTopicPartition> = []
        var lastCommit = ContinuousClock.now
        var consumedCounts: [KafkaTopicPartition: Int] = [:]
        var throttledSince: ContinuousClock.Instant?
        while !stopRequested.load(ordering: .relaxed) {
            if shouldThrottle(since: &throttledSince) {
                try await Task.sleep(for: Self.throttleStep)
            } else {
                let messages = try await consumer.poll(
                    maxMessages: configuration.pollBatchSize,
                    timeout: configuration.pollTimeout
                )
                for message in messages {
                    consumedCounts[message.topicPartition, default: 0] += 1
                    submit(message)
                }
                paused = applyBackPressure(paused: paused)
            }
            // Commits go on while throttled: the buffer is full of finished-soon work, not stuck.
            if ContinuousClock.now - lastCommit >= configuration.commitInterval {
                lastCommit = .now
                await commitMoved()
                for (partition, count) in consumedCounts { metrics.recordConsumed(partition, count: count) }
                consumedCounts.removeAll(keepingCapacity: true)
                updateGauges()
            }
        }
        for (partition, count) in consumedCounts { metrics.recordConsumed(partition, count: count) }
    }

    /// Transforms a record and queues it in its lane; starts a worker if the lane can run now.
    private func submit(_ message: KafkaMessage) {
        let result: Result<JuneRequest, TransformError>
        if let value = message.value {
            result = transformer.transform(value)
        } else {
            result = .failure(TransformError(reason: .invalidJSON, message: "Record has no value (tombstone)"))
        }
        let laneKey: String?
        switch result {
        case .success(let request):
            laneKey = request.orderingKey ?? message.key.map { String(decoding: $0, as: UTF8.self) }
        case .failure:
            // A record that cannot be transformed is dead-lettered at once: it has no June order to keep.
            laneKey = "\u{0}invalid:\(message.offset)"
        }
        let partition = message.topicPartition
        let job: RelayEvent? = state.withLock { state in
            guard let generation = state.tracker.track(partition, offset: message.offset) else { return nil }
            let event = RelayEvent(
                lane: LaneKey(partition: partition, key: laneKey),
                message: message,
                request: result,
                generation: generation
            )
            return state.lanes.enqueue(event)
        }
        if let job { startWorker(job) }
    }

    /// How long the fetch loop waits between checks while the total buffer is full.
    static let throttleStep: Duration = .milliseconds(5)

    /// Whole-buffer back-pressure: while `maxBufferedTotal` records are buffered, the fetch loop stops
    /// polling (librdkafka keeps its own bounded prefetch) instead of pausing partitions, because
    /// librdkafka 2.0.2 discards a partition's prefetched records on resume and fetches them again.
    /// Polling is skipped for at most `maxThrottle`: a buffer that does not drain (lanes stuck in long
    /// retries) falls back to pausing every partition, so the member keeps polling and serving rebalances.
    /// June outages pause everything at once (`applyBackPressure`).
    private func shouldThrottle(since throttledSince: inout ContinuousClock.Instant?) -> Bool {
        let (full, inOutage) = state.withLock { ($0.tracker.totalPending >= configuration.maxBufferedTotal, $0.isInOutage) }
        guard full, !inOutage else {
            throttledSince = nil
            return false
        }
        let now = ContinuousClock.now
        if throttledSince == nil { throttledSince = now }
        return now - throttledSince! < configuration.maxThrottle
    }

    /// Pauses partitions whose buffers are full (or all of them during a June outage) and resumes them
    /// once drained. Returns the new paused set.
    private func applyBackPressure(paused: Set<KafkaTopicPartition>) -> Set<KafkaTopicPartition> {
        let (wanted, assigned) = state.withLock { state in
            let wanted = state.partitionsToPause(
                currentlyPaused: paused,
                perPartitionLimit: configuration.maxBufferedPerPartition,
                totalLimit: configuration.maxBufferedTotal
            )
            return (wanted, state.assigned)
        }
        let stillPaused = paused.intersection(assigned)
        let toPause = wanted.subtracting(stillPaused)
        let toResume = stillPaused.subtracting(wanted)
        if !toPause.isEmpty {
            do {
                try consumer.pause(Array(toPause))
                logger.debug("Partitions paused", metadata: ["kafka.partitions": "\(toPause.count)"])
            } catch {
                logger.warning("Pausing partitions failed", metadata: ["error": "\(error)"])
            }
        }
        if !toResume.isEmpty {
            do {
                try consumer.resume(Array(toResume))
                logger.debug("Partitions resumed", metadata: ["kafka.partitions": "\(toResume.count)"])
            } catch {
                logger.warning("Resuming partitions failed", metadata: ["error": "\(error)"])
            }
        }
        return wanted
    }

    /// Commits the watermarks that moved since the last commit (spec §5). Runs on the fetch task, between
    /// polls, so it never races a revoke (rebalance callbacks run inside poll).
    ///
    /// After a commit fails because the group is rebalancing, periodic commits wait for the next
    /// rebalance callback (at most `rebalanceCommitHold`): committing with an outdated generation makes
    /// librdkafka 2.0.2 drop the whole assignment. Nothing is lost meanwhile; the watermarks stay in the
    /// tracker and the revoke handler commits them.
    /// Returns the failure, if any.
    @discardableResult
    private func commitMoved(now: ContinuousClock.Instant = .now, timeout: Duration = KafkaConsumer.commitTimeout) async -> KafkaError? {
        let offsets: [KafkaTopicPartition: Int64] = state.withLock { state in
            if let until = state.commitsHeldUntil, now < until { return [:] }
            state.commitsHeldUntil = nil
            return state.tracker.takeCommittable()
        }
        guard !offsets.isEmpty else { return nil }
        do {
            try await consumer.commit(offsets, timeout: timeout)
            for (partition, offset) in offsets { metrics.recordCommitted(partition, offset: offset) }
            return nil
        } catch {
            state.withLock { state in
                state.tracker.commitFailed(offsets)
                if error.isGroupRebalancing { state.commitsHeldUntil = now + Self.rebalanceCommitHold }
            }
            metrics.commitFailures.increment()
            logger.warning("Offset commit failed", metadata: ["error": "\(error)"])
            return error
        }
    }

    /// Longest pause of periodic commits while the group rebalances.
    static let rebalanceCommitHold: Duration = .seconds(10)

    private func updateGauges() {
        let snapshot = self.snapshot
        metrics.inFlight.record(snapshot.inFlight)
        metrics.buffered.record(snapshot.buffered)
        metrics.outage.record(snapshot.inOutage ? 1 : 0)
        metrics.assigned.record(snapshot.assignedPartitions)
        updateLag()
    }

    // MARK: - Shutdown

    /// Commits the final watermarks. If the group is rebalancing, keeps polling, so librdkafka can finish
    /// the rebalance through our callbacks (which lift the commit hold), and retries until `deadline`.
    /// Records polled meanwhile are dropped: they are never marked done, so their offsets are not committed.
    private func finalCommit(until deadline: ContinuousClock.Instant) async {
        state.withLock { $0.commitsHeldUntil = nil }
        while ContinuousClock.now < deadline {
            let held = state.withLock { state in state.commitsHeldUntil.map { ContinuousClock.now < $0 } ?? false }
            if !held {
                let remaining = max(deadline - ContinuousClock.now, .milliseconds(100))
                guard let error = await commitMoved(timeout: remaining), error.isGroupRebalancing || error.isRetriable else { return }
            }
            _ = try? await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        logger.warning("Final commit did not succeed before the drain deadline; the next owner re-delivers from the last committed offset")
    }

    /// Stops new work, waits for in-flight events up to the drain timeout, commits, leaves the group and
    /// flushes the dead-letter producer (spec §5).
    private func shutDown() async {
        logger.info("Draining in-flight events")
        state.withLock { $0.stop() }
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while state.withLock({ $0.lanes.running }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let abandoned = state.withLock { $0.lanes.running }
        if abandoned > 0 {
            logger.warning("Drain timeout reached; in-flight events will be re-delivered", metadata: ["count": "\(abandoned)"])
        }
        await finalCommit(until: deadline + .seconds(5))
        do {
            try await consumer.close()
        } catch {
            logger.warning("Closing the consumer failed", metadata: ["error": "\(error)"])
        }
        await producer.close()
        logger.info("Pipeline stopped")
    }
}

// MARK: - Pipeline + lag

extension Pipeline {
    /// Consumer lag per assigned partition: librdkafka's cached high watermark minus the committed offset
    /// (non-blocking; the watermark comes with every fetch response).
    func updateLag() {
        let committed: [(KafkaTopicPartition, Int64?)] = state.withLock { state in
            state.assigned.map { ($0, state.tracker.partitions[$0]?.lastCommitted) }
        }
        for (partition, offset) in committed {
            guard let (low, high) = consumer.watermarks(partition), high >= 0 else { continue }
            metrics.recordLag(partition, lag: max(0, high - (offset ?? low)))
        }
    }
}
