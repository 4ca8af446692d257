import Dispatch
import Kafka
import RelayFormats

/// Everything the pipeline's tasks and its rebalance handler share, kept in one lock by `Pipeline`: the
/// mode, the offset tracker, the lane table, the in-flight slots and the partition assignment. Pure
/// apart from signalling drain waiters; other side effects happen after unlocking.
struct PipelineState: Sendable {
    var tracker = OffsetTracker()
    var lanes = LaneTable()
    let maxInFlight: Int
    /// The in-flight limit while running: learned from June's answers (`--concurrency adaptive`) or
    /// `maxInFlight` (`fixed`). Back to slow start whenever June becomes unavailable and when it
    /// recovers, so June just back (or a refused key) never gets a full burst.
    private(set) var limiter: ConcurrencyLimiter
    /// June's health as its answers show it (outages, acceptances, rejection storms).
    private(set) var health: JuneHealth
    private(set) var mode: PipelineMode = .running
    var assigned: Set<KafkaTopicPartition> = []
    /// Partitions this member paused (back-pressure, outage); cleared on assign and revoke.
    var paused: Set<KafkaTopicPartition> = []
    /// True once the consumer received an assignment, even an empty one (readiness).
    var hasJoined = false
    /// Jobs (June requests, dead-letter writes) running now.
    private(set) var inFlight = 0
    /// Records in running jobs, per partition: a revoke waits for its partitions' count to reach zero.
    private var activeRecords: [KafkaTopicPartition: Int] = [:]
    private var drainWaiters: [DrainWaiter] = []
    private var nextEpoch: UInt64 = 1
    /// Total time June was unavailable (outage or refusal) before the current episode.
    private var unavailableTotal: Duration = .zero
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
    var unconfirmedCommits: [KafkaTopicPartition: UnconfirmedCommits.Entry] { unconfirmed.entries }

    /// Periodic commits wait this long after a rebalance callback, and after a commit that met a rebalance.
    static let rebalanceQuietPeriod: Duration = .seconds(10)

    /// `concurrency` defaults to `.fixed` here (the pipeline passes `--concurrency`): the state's own
    /// tests count slots against `maxInFlight`.
    init(maxInFlight: Int, outageThreshold: Int = 10, concurrency: ConcurrencyMode = .fixed) {
        self.maxInFlight = maxInFlight
        self.limiter = ConcurrencyLimiter(mode: concurrency, ceiling: maxInFlight)
        self.health = JuneHealth(outageThreshold: outageThreshold)
    }

    var inFlightLimit: Int { mode.inFlightLimit(maxInFlight: limiter.limit) }

    /// Feeds one June answer to the limiter (`inFlight` counts the answered job, whose slot is still
    /// held). Returns the limit.
    mutating func recordCapacitySignal(_ signal: ConcurrencyLimiter.Signal, rtt: Duration?, at now: ContinuousClock.Instant) -> Int {
        limiter.record(signal, rtt: rtt, inFlight: inFlight, at: now)
        return limiter.limit
    }
    var isStopping: Bool { mode == .draining || mode == .stopped }

    // MARK: Jobs

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

    var hasFreeSlot: Bool { inFlight < inFlightLimit }

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

    private struct DrainWaiter: Sendable {
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

    // MARK: Assignment

    /// A revoke, an empty assignment or a commit that met a rebalance. Periodic commits wait until the
    /// group has been quiet for `rebalanceQuietPeriod` (or an assignment with partitions arrives): a
    /// cooperative rebalance goes on after these callbacks (librdkafka calls assign with an empty list
    /// right after the revoke, then rejoins and syncs), and a commit sent meanwhile is answered
    /// ILLEGAL_GENERATION, after which librdkafka 2.0.2 drops the whole assignment (librdkafka issue
    /// #4059). Revoke callbacks commit their partitions themselves, when librdkafka allows it.
    mutating func rebalanceCallbackRan(at now: ContinuousClock.Instant = .now) {
        commitsHeldUntil = now + Self.rebalanceQuietPeriod
    }

    /// Records an assignment callback with no partitions: the member joined (readiness).
    mutating func joinedWithoutNewPartitions(at now: ContinuousClock.Instant = .now) {
        rebalanceCallbackRan(at: now)
        hasJoined = true
    }

    /// Starts tracking newly assigned partitions, each under a new epoch, from their committed offsets
    /// and metadata, or from a recovered commit of this member (see ``unconfirmedCommits``) that the
    /// assignment handler has just made. Returns the partitions whose committed metadata was ignored, why.
    ///
    /// An assignment with partitions ends the rebalance for this member: periodic commits may go on at
    /// once. (An empty one does not: librdkafka calls assign with no partitions right after a
    /// cooperative revoke, before it rejoins; see ``joinedWithoutNewPartitions(at:)``.)
    @discardableResult
    mutating func assign(
        _ partitions: [KafkaTopicPartition],
        committed: [KafkaTopicPartition: KafkaOffsetCommit],
        recovered: [KafkaTopicPartition: KafkaOffsetCommit] = [:],
        at now: ContinuousClock.Instant = .now
    ) -> [KafkaTopicPartition: OffsetCommitMetadata.IgnoredReason] {
        commitsHeldUntil = nil
        hasJoined = true
        var ignored: [KafkaTopicPartition: OffsetCommitMetadata.IgnoredReason] = [:]
        for partition in partitions {
            if let commit = recovered[partition] {
                tracker.assign(partition, epoch: nextEpoch, committed: commit, recoveredFrom: committed[partition]?.offset ?? 0)
                unconfirmed.startOwnership(partition, confirmed: commit.offset)
            } else {
                tracker.assign(partition, epoch: nextEpoch, committed: committed[partition])
                unconfirmed.startOwnership(partition, confirmed: committed[partition].flatMap { $0.offset >= 0 ? $0.offset : nil })
                ignored[partition] = tracker.partitions[partition]?.ignoredMetadata
            }
            nextEpoch += 1
            assigned.insert(partition)
            paused.remove(partition)
        }
        return ignored
    }

    /// First half of a revoke: no new work for these partitions; their queued records are dropped.
    mutating func beginRevoke(_ partitions: Set<KafkaTopicPartition>, at now: ContinuousClock.Instant = .now) {
        rebalanceCallbackRan(at: now)
        lanes.drop(partitions: partitions)
        assigned.subtract(partitions)
        paused.subtract(partitions)
    }

    /// Second half of a revoke: the final commits; later results for these partitions are discarded.
    mutating func finishRevoke(_ partitions: Set<KafkaTopicPartition>, metadataLimit: Int) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        let commits = tracker.takeCommittable(only: partitions, metadataLimit: metadataLimit)
        for partition in partitions { tracker.revoke(partition) }
        return commits
    }

    /// Shutdown begins: start nothing new and drop what has not started.
    mutating func beginDraining() {
        mode = .draining
        lanes.dropAll()
    }

    mutating func stop() {
        mode = .stopped
    }

    // MARK: June's health

    /// What an answer from June changed.
    enum Transition: Equatable {
        case outageBegan
        case refusalBegan(status: Int)
        /// June rejects every real event (a rejection storm): treated as a refusal.
        case rejectingAllBegan(status: Int)
        /// June accepts again after an outage or a refusal of this long.
        case recovered(after: Duration, wasRefused: Bool)
    }

    /// Total time June was unavailable up to `now` (outage and refusal time do not use up retry budgets).
    func unavailableTime(at now: ContinuousClock.Instant) -> Duration {
        guard let since = mode.unavailableSince else { return unavailableTotal }
        return unavailableTotal + (now - since)
    }

    /// June accepted a real event (2xx).
    mutating func recordAccepted(at now: ContinuousClock.Instant) -> Transition? {
        health.accepted(at: now)
        return recover(at: now)
    }

    /// June answered a probe, or rejected a whole batch (before it is split), with something that is
    /// neither a retryable failure nor a refusal: June is up and takes the key. It does not end a
    /// rejection storm (only an accepted real event does).
    mutating func recordAnswered(at now: ContinuousClock.Instant) -> Transition? {
        guard !mode.isRejectingAll else { return nil }
        health.answered(at: now)
        return recover(at: now)
    }

    /// June rejected a real event of `lane` with `status`. Returns what changed and whether the event
    /// is to be dead-lettered: not while June rejects everything (a rejection storm, which this
    /// rejection may complete), when the event is held back and retried like at a refusal.
    mutating func recordRejected(lane: LaneKey, status: Int, at now: ContinuousClock.Instant) -> (transition: Transition?, deadLetter: Bool) {
        if mode.isRejectingAll || isStopping { return (nil, !mode.isRejectingAll) }
        guard health.rejected(lane: lane, at: now) else { return (recover(at: now), true) }
        mode = .refused(since: mode.unavailableSince ?? now, status: status, rejectingAll: true)
        limiter.restart(at: now)
        return (.rejectingAllBegan(status: status), false)
    }

    /// Back to running after an outage or a refusal, if there was one.
    private mutating func recover(at now: ContinuousClock.Instant) -> Transition? {
        guard let since = mode.unavailableSince else { return nil }
        let wasRefused = if case .refused = mode { true } else { false }
        unavailableTotal += now - since
        mode = .running
        limiter.restart(at: now)
        return .recovered(after: now - since, wasRefused: wasRefused)
    }

    /// A retryable failure (timeout, connection error, 408, 429, 5xx): an outage begins when
    /// ``JuneHealth/retryableFailure(at:)`` says so.
    mutating func recordRetryableFailure(at now: ContinuousClock.Instant) -> Transition? {
        guard health.retryableFailure(at: now), mode == .running else { return nil }
        mode = .outage(since: now)
        limiter.restart(at: now)
        return .outageBegan
    }

    /// June refused the relay (401, 403, 404, 405, 407, 410, 3xx).
    mutating func recordRefused(status: Int, at now: ContinuousClock.Instant) -> Transition? {
        health.refused()
        switch mode {
        case .running:
            mode = .refused(since: now, status: status)
            limiter.restart(at: now)
            return .refusalBegan(status: status)
        case .outage(let since):
            // The outage turned into a refusal: one unavailable episode, still counted from its start.
            mode = .refused(since: since, status: status)
            return .refusalBegan(status: status)
        case .refused(let since, let old, let rejectingAll):
            mode = .refused(since: since, status: status)
            return old == status && !rejectingAll ? nil : .refusalBegan(status: status)
        case .draining, .stopped:
            return nil
        }
    }

    /// A probe during a refusal failed retryably: June is down now, the refusal is not known to go on.
    mutating func probeFailedRetryably() {
        if case .refused(let since, _, false) = mode { mode = .outage(since: since) }
    }

    // MARK: Back-pressure

    /// Partitions that should be paused: all of them while June is unavailable or the relay is stopping,
    /// else those holding too many unfinished records or too many done-but-uncommittable offsets.
    /// `paused` gives hysteresis: a paused partition resumes at half its limits.
    func partitionsToPause(perPartitionLimit: Int, uncommittedLimit: Int64, pauseAll: Bool) -> Set<KafkaTopicPartition> {
        if mode != .running || pauseAll { return assigned }
        var result: Set<KafkaTopicPartition> = []
        for partition in assigned {
            let unfinished = tracker.unfinishedCount(partition)
            let uncommitted = tracker.uncommittedCount(partition)
            let wasPaused = paused.contains(partition)
            let full = unfinished >= perPartitionLimit || uncommitted >= uncommittedLimit
            let stillHigh = wasPaused && (unfinished > perPartitionLimit / 2 || uncommitted > uncommittedLimit / 2)
            if full || stillHigh { result.insert(partition) }
        }
        return result
    }
}
