import CoreMetrics
import Dispatch
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging
import ServiceLifecycle
import Synchronization

/// The relay: Kafka consumer → transform → keyed dispatcher → June sender → offset tracker → commit,
/// with the dead-letter producer beside the sender (docs/design.md).
///
/// `run` owns every task in one task group: the fetch loop (polls librdkafka, transforms each record,
/// queues it in its lane, commits moved offsets every `commitInterval`), the health ticker (probes June
/// while it is unavailable, refreshes gauges), the workers (at most `maxInFlight` jobs at a time: a June
/// request or a dead-letter write) and the retry timers. All of them end with `run`. Shared state lives
/// in one lock (``PipelineState``).
public final class Pipeline: Service, Sendable {
    let configuration: PipelineConfiguration
    let consumer: KafkaConsumer
    let deadLetters: DeadLetterProducer
    let sender: any JuneSending
    let transformer: JuneTransformer
    let metrics: PipelineMetrics
    let logger: Logger
    let state: SharedPipelineState
    /// Called before each probe while June refuses the relay (e.g. re-reads the write-key file).
    let beforeProbe: (@Sendable () async -> Void)?
    let tasks: PipelineTasks
    private let stopRequested = Atomic<Bool>(false)
    /// Nanoseconds (since `started`) of the fetch loop's last turn: the liveness watchdog.
    private let lastLoopTurn = Atomic<Int64>(0)
    private let started = ContinuousClock.now
    /// Set when the pipeline must stop with an error (e.g. the dead-letter producer cannot be replaced).
    let failure = Mutex<(any Error)?>(nil)

    /// Builds the pipeline and its consumer. The consumer's rebalance callbacks go to the pipeline.
    public init(
        configuration: PipelineConfiguration,
        consumerConfiguration: KafkaConsumerConfiguration,
        deadLetters: DeadLetterProducer,
        sender: any JuneSending,
        metrics: PipelineMetrics = PipelineMetrics(),
        beforeProbe: (@Sendable () async -> Void)? = nil,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.deadLetters = deadLetters
        self.sender = sender
        self.metrics = metrics
        self.logger = logger
        self.beforeProbe = beforeProbe
        self.transformer = JuneTransformer(maxEventBytes: configuration.maxEventBytes)
        self.tasks = PipelineTasks()
        let state = SharedPipelineState(
            PipelineState(maxInFlight: configuration.maxInFlight, outageThreshold: configuration.outageThreshold)
        )
        self.state = state
        let handler = PipelineRebalanceHandler(
            state: state,
            drainTimeout: configuration.drainTimeout,
            metadataLimit: configuration.commitMetadataLimit,
            metrics: metrics,
            logger: logger
        )
        self.consumer = try KafkaConsumer(
            configuration: consumerConfiguration,
            logger: logger,
            rebalanceHandler: handler
        )
    }

    // MARK: - Running

    public func run() async throws {
        try consumer.subscribe(topics: configuration.topics)
        logger.info("Pipeline started", metadata: [PipelineLoggingKeys.topics: "\(configuration.topics.joined(separator: ","))"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    defer { self.tasks.finish() }
                    var failure: (any Error)?
                    do {
                        try await self.fetchLoop()
                    } catch {
                        failure = error
                        self.logger.error("Pipeline failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
                    }
                    await self.shutDown()
                    if let failure { throw failure }
                }
                group.addTask { await self.healthLoop() }
                // Workers, retry timers and probes are started through `tasks` and run as children here.
                for await work in self.tasks.stream {
                    group.addTask { await self.perform(work) }
                }
                // The fetch loop has shut down: end what is left (retry timers, the health loop).
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.requestStop()
        }
    }

    /// Asks the pipeline to stop (the same as a graceful shutdown of the service).
    public func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    var isStopRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// Stops the pipeline with an error (it shuts down as at SIGTERM, then `run` throws it).
    func fail(_ error: any Error) {
        failure.withLock { if $0 == nil { $0 = error } }
        requestStop()
    }

    // MARK: - Fetching

    private func fetchLoop() async throws {
        var lastCommit = ContinuousClock.now
        var consumedCounts: [KafkaTopicPartition: Int] = [:]
        var skippedCounts: [KafkaTopicPartition: Int] = [:]
        var throttledSince: ContinuousClock.Instant?
        defer {
            for (partition, count) in consumedCounts { metrics.recordConsumed(partition, count: count) }
        }
        while !isStopRequested {
            markLoopTurn()
            let pauseAll = shouldThrottle(since: &throttledSince)
            if throttledSince != nil, !pauseAll {
                try await Task.sleep(for: Self.throttleStep)
            } else {
                let messages = try await consumer.poll(
                    maxMessages: configuration.pollBatchSize,
                    timeout: configuration.pollTimeout
                )
                if !messages.isEmpty {
                    submit(messages, consumed: &consumedCounts, skipped: &skippedCounts)
                }
            }
            applyBackPressure(pauseAll: pauseAll)
            if ContinuousClock.now - lastCommit >= configuration.commitInterval {
                lastCommit = .now
                await commitMoved()
                for (partition, count) in consumedCounts { metrics.recordConsumed(partition, count: count) }
                for (partition, count) in skippedCounts { metrics.recordSkipped(partition, count: count) }
                consumedCounts.removeAll(keepingCapacity: true)
                skippedCounts.removeAll(keepingCapacity: true)
                updateGauges()
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func markLoopTurn() {
        lastLoopTurn.store(Int64((ContinuousClock.now - started).nanoseconds), ordering: .relaxed)
    }

    /// How long ago the fetch loop last turned.
    var timeSinceLoopTurn: Duration {
        (ContinuousClock.now - started) - .nanoseconds(lastLoopTurn.load(ordering: .relaxed))
    }

    /// Transforms a poll batch, queues each record in its lane and starts jobs for free slots.
    private func submit(
        _ messages: [KafkaMessage],
        consumed: inout [KafkaTopicPartition: Int],
        skipped: inout [KafkaTopicPartition: Int]
    ) {
        // Everything that does not need the state lock is done first: the transform, the lane key and the
        // shared payload of each record.
        var payloads: [RelayRecord.Payload] = []
        payloads.reserveCapacity(messages.count)
        for message in messages {
            consumed[message.topicPartition, default: 0] += 1
            let result: Result<JuneRequest, TransformError>
            if let value = message.value {
                result = transformer.transform(value)
            } else {
                result = .failure(TransformError(reason: .invalidJSON, message: "Record has no value (tombstone)"))
            }
            let kind: LaneKey.Kind
            var cost = message.value?.count ?? 0
            var batchItem: JuneBatchItem?
            switch result {
            case .success(let request):
                cost += request.body.count
                if let key = request.orderingKey {
                    kind = .key(key)
                } else if let key = message.key {
                    kind = .key(String(decoding: key, as: UTF8.self))
                } else {
                    kind = .partition
                }
                if configuration.delivery == .batch {
                    batchItem = JuneBatchItem(request: request, messageID: RelayRecord.messageID(request: result, message: message))
                }
            case .failure:
                kind = .invalidRecord(offset: message.offset)
            }
            payloads.append(
                RelayRecord.Payload(
                    lane: LaneKey(partition: message.topicPartition, kind: kind),
                    message: message,
                    request: result,
                    byteCost: cost,
                    batchItem: batchItem
                )
            )
        }
        let now = ContinuousClock.now
        let jobs: [PipelineJob] = state.withLock { state in
            for payload in payloads {
                let partition = payload.lane.partition
                switch state.tracker.track(partition, offset: payload.message.offset, at: now) {
                case .drop:
                    continue
                case .skip:
                    skipped[partition, default: 0] += 1
                case .process(let epoch):
                    _ = state.lanes.enqueue(RelayRecord(payload: payload, epoch: epoch))
                }
            }
            return takeJobs(&state)
        }
        startWorkers(jobs)
    }

    /// How long the fetch loop waits between checks while the whole buffer is full.
    static let throttleStep: Duration = .milliseconds(5)

    /// Whole-buffer back-pressure: while `maxBufferedTotal` records or `maxBufferedBytes` bytes are held,
    /// the fetch loop stops polling (librdkafka keeps its own bounded prefetch) instead of pausing
    /// partitions, because librdkafka 2.0.2 discards a partition's prefetched records on resume and
    /// fetches them again. Polling is skipped for at most `maxThrottle`: a buffer that does not drain
    /// (lanes stuck in long retries) falls back to pausing every partition (returns true), so the member
    /// keeps polling and serving rebalances.
    private func shouldThrottle(since throttledSince: inout ContinuousClock.Instant?) -> Bool {
        let full = state.withLock { state in
            state.mode == .running
                && (state.tracker.totalUnfinished >= configuration.maxBufferedTotal
                    || state.lanes.queuedBytes >= configuration.maxBufferedBytes)
        }
        guard full else {
            throttledSince = nil
            return false
        }
        let now = ContinuousClock.now
        if throttledSince == nil { throttledSince = now }
        return now - throttledSince! >= configuration.maxThrottle
    }

    /// Pauses partitions that should not be fetched (all of them while June is unavailable) and resumes
    /// the others. The paused set lives in the state, so a revoke or re-assignment inside a poll (whose
    /// callbacks resume the partition) keeps it true.
    private func applyBackPressure(pauseAll: Bool) {
        let (toPause, toResume) = state.withLock { state in
            let wanted = state.partitionsToPause(
                perPartitionLimit: configuration.maxBufferedPerPartition,
                uncommittedLimit: configuration.maxUncommitted,
                pauseAll: pauseAll
            )
            let toPause = wanted.subtracting(state.paused)
            let toResume = state.paused.subtracting(wanted)
            state.paused = wanted
            return (toPause, toResume)
        }
        if !toPause.isEmpty {
            do {
                try consumer.pause(Array(toPause))
                logger.debug("Partitions paused", metadata: [PipelineLoggingKeys.partitionCount: "\(toPause.count)"])
            } catch {
                logger.warning("Pausing partitions failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
            }
        }
        if !toResume.isEmpty {
            do {
                try consumer.resume(Array(toResume))
                logger.debug("Partitions resumed", metadata: [PipelineLoggingKeys.partitionCount: "\(toResume.count)"])
            } catch {
                logger.warning("Resuming partitions failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
            }
        }
    }

    // MARK: - Committing

    /// Commits the offsets (and done-offset metadata) that changed since the last commit. Runs on the
    /// fetch task, between polls, so it never races a revoke (rebalance callbacks run inside poll).
    ///
    /// While the group rebalances (and for a quiet period after each rebalance callback or a commit that
    /// met a rebalance) periodic commits wait: committing with an outdated generation makes librdkafka
    /// 2.0.2 drop the whole assignment (librdkafka issue #4059). Nothing is lost meanwhile; the offsets
    /// stay in the tracker and the revoke handler commits them. Returns the failure, if any.
    @discardableResult
    private func commitMoved(
        now: ContinuousClock.Instant = .now,
        timeout: Duration = KafkaConsumer.commitTimeout,
        operation: String = "periodic commit"
    ) async -> KafkaError? {
        let commits: [KafkaTopicPartition: KafkaOffsetCommit] = state.withLock { state in
            if let until = state.commitsHeldUntil, now < until { return [:] }
            state.commitsHeldUntil = nil
            return state.tracker.takeCommittable(metadataLimit: configuration.commitMetadataLimit, at: now)
        }
        guard !commits.isEmpty else { return nil }
        let committer = OffsetCommitter(state: state, metrics: metrics, logger: logger)
        return await committer.commit(commits, consumer: consumer, timeout: timeout, operation: operation).error
    }

    // MARK: - Shutdown

    /// Commits the final offsets. If the group is rebalancing, keeps polling, so librdkafka can finish the
    /// rebalance through our callbacks (which lift the commit hold), and retries until `deadline`.
    ///
    /// A final commit can meet a rebalance that another member's leaving started (a rolling restart): in
    /// librdkafka 2.0.2 a commit queued behind this member's JoinGroup is answered ILLEGAL_GENERATION and
    /// the assignment is lost (librdkafka issue #4059). The offsets are then kept as unconfirmed, the
    /// polling lets the member rejoin, and the assignment handler commits them when the partitions come
    /// back; this waits for that as long as the deadline allows. Records polled meanwhile are dropped:
    /// they are never marked done, so their offsets are not committed.
    private func finalCommit(until deadline: ContinuousClock.Instant) async {
        let owned = state.withLock { state in
            state.commitsHeldUntil = nil
            return state.assigned
        }
        while ContinuousClock.now < deadline {
            let hold = state.withLock { state in state.commitsHeldUntil.map { ContinuousClock.now < $0 } ?? false }
            if !hold {
                let remaining = max(deadline - ContinuousClock.now, .milliseconds(100))
                if let error = await commitMoved(timeout: remaining, operation: "final commit") {
                    guard error.isGroupRebalancing || error.isRetriable else { return }
                } else if state.withLock({ owned.isDisjoint(with: $0.unconfirmedCommits.keys) }) {
                    return
                }
            }
            guard ContinuousClock.now < deadline else { break }
            _ = try? await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        logger.warning("Final commit did not succeed before its deadline; the next owner re-delivers from the last committed offset")
    }

    /// Stops new work, waits for in-flight jobs up to the drain timeout, commits, leaves the group and
    /// flushes the dead-letter producer. Each step is bounded, Kafka reachable or not: the whole takes at
    /// most the drain timeout plus 18 s (the final commit's 13 s, then both closes side by side).
    private func shutDown() async {
        logger.info("Draining in-flight events")
        state.withLock { $0.beginDraining() }
        let drained = await waitForJobs(in: nil, timeout: configuration.drainTimeout)
        if !drained {
            let abandoned = state.withLock { $0.activeRecords(in: nil) }
            logger.warning("Drain timeout reached; in-flight events will be re-delivered", metadata: [PipelineLoggingKeys.count: "\(abandoned)"])
        }
        await finalCommit(until: .now + Self.finalCommitLimit)
        // The two clients are independent: close them side by side, so the whole stays within its bound.
        async let deadLettersClosed: Void = deadLetters.close(timeout: Self.closeLimit)
        do {
            try await consumer.close(timeout: Self.closeLimit)
        } catch {
            logger.warning("Closing the consumer failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
        }
        await deadLettersClosed
        state.withLock { $0.stop() }
        updateGauges()
        logger.info("Pipeline stopped")
    }

    /// Longest final commit and longest close of each Kafka client at shutdown.
    /// The final commit may wait out one rebalance of the group (another member leaving at the same time).
    static let finalCommitLimit: Duration = .seconds(13)
    static let closeLimit: Duration = .seconds(5)

    /// Waits (without polling) until no job holds records of `partitions` (nil: any), at most `timeout`.
    /// Returns false on timeout.
    func waitForJobs(in partitions: Set<KafkaTopicPartition>?, timeout: Duration) async -> Bool {
        guard let signal = state.withLock({ $0.drainSignal(for: partitions) }) else { return true }
        let drained = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: signal.wait(timeout: .now() + timeout.timeInterval) == .success)
            }
        }
        if !drained { state.withLock { $0.removeDrainSignal(signal) } }
        return drained
    }
}

extension Duration {
    var timeInterval: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
