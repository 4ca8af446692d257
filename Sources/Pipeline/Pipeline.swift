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
/// `Pipeline` is the wiring: `run` owns every task in one task group: the fetch loop (here: polls
/// librdkafka, transforms each record, registers it with the work object, applies back-pressure,
/// commits moved offsets every `commitInterval`), the health loop (Health/: probes June while it is
/// unavailable), the workers (Delivery/: at most the concurrency limit of jobs at a time, a June request
/// or a dead-letter write) and the retry timers. All of them end with `run`. Every decision is made by
/// the work object (Work/``RelayWork``), in one lock (``SharedRelayWork``); Status/ reads it.
public final class Pipeline: Service, Sendable {
    let configuration: PipelineConfiguration
    let consumer: KafkaConsumer
    let deadLetters: DeadLetterProducer
    let sender: any JuneSending
    let metrics: PipelineMetrics
    let logger: Logger
    let state: SharedRelayWork
    let intake: RecordIntake
    let committer: OffsetCommitter
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
        self.intake = RecordIntake(transformer: JuneTransformer(maxEventBytes: configuration.maxEventBytes), delivery: configuration.delivery)
        self.tasks = PipelineTasks()
        let state = SharedRelayWork(RelayWork(configuration: configuration))
        self.state = state
        let committer = OffsetCommitter(state: state, metrics: metrics, logger: logger)
        self.committer = committer
        let handler = PipelineRebalanceHandler(
            state: state,
            committer: committer,
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

    // MARK: - Running

    /// Runs until asked to stop (graceful shutdown, ``requestStop()``, a failure), then shuts down:
    /// drain, final commit, leave the group, flush the dead-letter producer; returns after all of that.
    ///
    /// Cancellation is a stop request, not an abort: the work runs in a task that the caller's
    /// cancellation does not reach, and a cancelled `run` still drains, commits and leaves, within the
    /// same bound as at SIGTERM (`--drain-timeout` + 18 s). Otherwise a cancelled service group (another
    /// service failed) would end the work stream while the consumer kept its partitions.
    public func run() async throws {
        let work = Task { try await self.runUntilStopped() }
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await work.value
            } onGracefulShutdown: {
                self.requestStop()
            }
        } onCancel: {
            self.requestStop()
        }
    }

    private func runUntilStopped() async throws {
        try consumer.subscribe(topics: configuration.topics)
        logger.info("Pipeline started", metadata: [PipelineLoggingKeys.topics: "\(configuration.topics.joined(separator: ","))"])
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
    }

    /// Asks the pipeline to stop (the same as a graceful shutdown of the service).
    /// The first request starts the shutdown budget: rebalance callbacks from then on end by the
    /// final commit's deadline (relay-spec §5).
    public func requestStop() {
        state.stopRequested(at: .now, callbacksUntil: .now + configuration.drainTimeout + Self.finalCommitLimit)
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
        defer {
            for (partition, count) in consumedCounts { metrics.recordConsumed(partition, count: count) }
        }
        while !isStopRequested {
            // Cancellation is a stop request: leave the loop, and the shutdown drains, commits and leaves.
            if Task.isCancelled {
                requestStop()
                break
            }
            markLoopTurn()
            let throttle = state.withLock { $0.throttle(at: .now) }
            if throttle == .wait {
                try? await Task.sleep(for: Self.throttleStep)
            } else {
                let messages = try await consumer.poll(maxMessages: configuration.pollBatchSize, timeout: configuration.pollTimeout)
                if !messages.isEmpty {
                    submit(messages, consumed: &consumedCounts, skipped: &skippedCounts)
                }
            }
            applyBackPressure(pauseAll: throttle == .pauseAll)
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

    /// Transforms a poll batch (outside the lock), registers it with the work object and starts jobs
    /// for free slots.
    private func submit(
        _ messages: [KafkaMessage],
        consumed: inout [KafkaTopicPartition: Int],
        skipped: inout [KafkaTopicPartition: Int]
    ) {
        var payloads: [RelayRecord.Payload] = []
        payloads.reserveCapacity(messages.count)
        for message in messages {
            consumed[message.topicPartition, default: 0] += 1
            payloads.append(intake.payload(for: message))
        }
        let now = ContinuousClock.now
        startWorkers(state.withLock { $0.register(payloads, skipped: &skipped, at: now) })
    }

    /// How long the fetch loop waits between checks while the whole buffer is full.
    static let throttleStep: Duration = .milliseconds(5)

    /// Pauses partitions the work object says should not be fetched (all of them while June is
    /// unavailable) and resumes the others.
    private func applyBackPressure(pauseAll: Bool) {
        let (toPause, toResume) = state.withLock { $0.backPressure(pauseAll: pauseAll) }
        flowControl(toPause, done: "Partitions paused", failed: "Pausing partitions failed", consumer.pause)
        flowControl(toResume, done: "Partitions resumed", failed: "Resuming partitions failed", consumer.resume)
    }

    private func flowControl(
        _ partitions: Set<KafkaTopicPartition>,
        done: Logger.Message,
        failed: Logger.Message,
        _ change: ([KafkaTopicPartition]) throws -> Void
    ) {
        guard !partitions.isEmpty else { return }
        do {
            try change(Array(partitions))
            logger.debug(done, metadata: [PipelineLoggingKeys.partitionCount: "\(partitions.count)"])
        } catch {
            logger.warning(failed, metadata: [PipelineLoggingKeys.error: "\(error)"])
        }
    }
}
