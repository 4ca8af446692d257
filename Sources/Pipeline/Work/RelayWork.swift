import Dispatch
import Kafka
import RelayFormats

/// The work state machine at the centre of the pipeline: the only owner of the lanes, the offsets, the
/// in-flight slots, the pauses, the commit hold, June's health, the concurrency limit and the mode.
///
/// Its mutating methods are named for what happened (records registered, a request answered, a dead
/// letter written, a job ended, partitions assigned or revoked, a commit made or failed) and return what
/// the caller is to do: jobs to start, a ``RetryDecision``, partitions to pause or resume, commits to
/// make. The pipeline's tasks perform those actions and feed the results back; they never reach into
/// the fields. `Pipeline` keeps it in one lock (``SharedRelayWork``). Pure apart from signalling
/// drain waiters; time is passed in.
///
/// The extensions: +Jobs (job choice, batches), +Completion (answers, retry decisions, dead letters),
/// +Health (June's health and the mode), +Assignment (assign, revoke, commits), +BackPressure.
struct RelayWork: Sendable {
    let configuration: PipelineConfiguration
    var tracker = OffsetTracker()
    var lanes = LaneTable()
    /// The in-flight limit while running: learned from June's answers (`--concurrency adaptive`) or
    /// `maxInFlight` (`fixed`). Back to slow start whenever June becomes unavailable and when it
    /// recovers, so June just back (or a refused key) never gets a full burst.
    var limiter: ConcurrencyLimiter
    /// June's health as its answers show it (outages, acceptances, rejection storms).
    var health: JuneHealth
    var mode: PipelineMode = .running
    var assigned: Set<KafkaTopicPartition> = []
    /// Partitions this member paused (back-pressure, outage); cleared on assign and revoke.
    var paused: Set<KafkaTopicPartition> = []
    /// True once the consumer received an assignment, even an empty one (readiness).
    var hasJoined = false
    /// Jobs (June requests, dead-letter writes) running now.
    var inFlight = 0
    /// Records in running jobs, per partition: a revoke waits for its partitions' count to reach zero.
    var activeRecords: [KafkaTopicPartition: Int] = [:]
    var drainWaiters: [DrainWaiter] = []
    var nextEpoch: UInt64 = 1
    /// Total time June was unavailable (outage or refusal) before the current episode.
    var unavailableTotal: Duration = .zero
    /// Since when the whole buffer has been full (the fetch loop skips polls meanwhile).
    var throttledSince: ContinuousClock.Instant?
    /// Periodic commits wait while the group rebalances: a commit with an outdated generation makes
    /// librdkafka 2.0.2 treat the whole assignment as lost (librdkafka issue #4059). Set by rebalance
    /// callbacks and by a commit that met a rebalance (``rebalanceCallbackRan(at:)``).
    var commitsHeldUntil: ContinuousClock.Instant?
    /// Commits that failed in a rebalance or were never made because the assignment was lost, with the
    /// group offset each was based on (see ``UnconfirmedCommits``). When the partition comes back to this
    /// member over that same offset, the assignment handler commits it and starts from it, so a commit
    /// that met a rebalance (librdkafka issue #4059) costs no re-sends, and a shutdown can still record its
    /// final offsets.
    var unconfirmed = UnconfirmedCommits()

    /// Periodic commits wait this long after a rebalance callback, and after a commit that met a rebalance.
    static let rebalanceQuietPeriod: Duration = .seconds(10)

    init(configuration: PipelineConfiguration) {
        self.configuration = configuration
        self.limiter = ConcurrencyLimiter(mode: configuration.concurrency, ceiling: configuration.maxInFlight)
        self.health = JuneHealth(outageThreshold: configuration.outageThreshold)
    }

    var maxInFlight: Int { configuration.maxInFlight }
    var inFlightLimit: Int { mode.inFlightLimit(maxInFlight: limiter.limit) }
    var hasFreeSlot: Bool { inFlight < inFlightLimit }
    var isStopping: Bool { mode == .draining || mode == .stopped }
    var unconfirmedCommits: [KafkaTopicPartition: UnconfirmedCommits.Entry] { unconfirmed.entries }

    // MARK: Records registered

    /// Registers a poll batch: each record is tracked and queued in its lane (or dropped, when its
    /// partition is not assigned, or counted in `skipped`, when the committed metadata says it was done).
    /// Returns the jobs that can start now.
    mutating func register(
        _ payloads: [RelayRecord.Payload],
        skipped: inout [KafkaTopicPartition: Int],
        at now: ContinuousClock.Instant
    ) -> [PipelineJob] {
        for payload in payloads {
            let partition = payload.lane.partition
            switch tracker.track(partition, offset: payload.message.offset, at: now) {
            case .drop:
                continue
            case .skip:
                skipped[partition, default: 0] += 1
            case .process(let epoch):
                _ = lanes.enqueue(RelayRecord(payload: payload, epoch: epoch))
            }
        }
        return takeJobs(at: now)
    }

    // MARK: Slots

    /// Takes a free slot for a job made of `records` (all of one lane, or a batch of runs).
    mutating func startJob(_ records: [RelayRecord], at now: ContinuousClock.Instant = .now) {
        inFlight += 1
        limiter.started(inFlight: inFlight, at: now)
        for record in records { activeRecords[record.partition, default: 0] += 1 }
    }

    /// Records taken into a running job after it started (a batch topped up while lingering).
    mutating func addToJob(_ records: some Collection<RelayRecord>) {
        for record in records { activeRecords[record.partition, default: 0] += 1 }
    }

    /// Frees the slot of a job; signals drain waiters whose partitions became idle.
    mutating func endJob(_ records: [RelayRecord]) {
        inFlight -= 1
        for record in records {
            let left = (activeRecords[record.partition] ?? 1) - 1
            activeRecords[record.partition] = left > 0 ? left : nil
        }
        if !drainWaiters.isEmpty { signalDrained() }
    }

    /// Whether `record` belongs to this member's current ownership of its partition (assigned, and the
    /// epoch it was consumed under): otherwise the next owner sends it, and this member must neither
    /// send nor dead-letter it.
    func owns(_ record: RelayRecord) -> Bool {
        assigned.contains(record.partition) && tracker.epoch(of: record.partition) == record.epoch
    }

    func activeRecords(in partitions: Set<KafkaTopicPartition>?) -> Int {
        guard let partitions else { return activeRecords.values.reduce(0, +) }
        return partitions.reduce(0) { $0 + (activeRecords[$1] ?? 0) }
    }

    // MARK: Draining

    struct DrainWaiter: Sendable {
        var partitions: Set<KafkaTopicPartition>?
        var semaphore: DispatchSemaphore
    }

    /// A semaphore signalled once no job holds records of `partitions` (nil: any partition), or nil when
    /// that is already so.
    mutating func drainSignal(for partitions: Set<KafkaTopicPartition>?) -> DispatchSemaphore? {
        guard activeRecords(in: partitions) > 0 else { return nil }
        let semaphore = DispatchSemaphore(value: 0)
        drainWaiters.append(DrainWaiter(partitions: partitions, semaphore: semaphore))
        return semaphore
    }

    mutating func removeDrainSignal(_ semaphore: DispatchSemaphore) {
        drainWaiters.removeAll { $0.semaphore === semaphore }
    }

    private mutating func signalDrained() {
        let idle = drainWaiters.filter { activeRecords(in: $0.partitions) == 0 }
        guard !idle.isEmpty else { return }
        for waiter in idle { waiter.semaphore.signal() }
        drainWaiters.removeAll { waiter in idle.contains { $0.semaphore === waiter.semaphore } }
    }

    /// Shutdown begins: start nothing new and drop what has not started.
    mutating func beginDraining() {
        mode = .draining
        lanes.dropAll()
    }

    mutating func stop() {
        mode = .stopped
    }
}
