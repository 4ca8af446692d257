import JuneClient
import Kafka

/// Everything the pipeline's tasks share, kept in one `Mutex` by `Pipeline`: the offset tracker, the lane
/// table, the outage detector and the partition assignment. Pure; side effects happen after unlocking.
struct PipelineState: Sendable {
    var tracker = OffsetTracker()
    var lanes: LaneTable
    var outage = OutageDetector()
    let maxInFlight: Int
    var assigned: Set<KafkaTopicPartition> = []
    private var nextGeneration: UInt64 = 1
    private var outageStartedAt: ContinuousClock.Instant?
    private var outageTotal: Duration = .zero
    /// Periodic commits wait while the group rebalances: a commit with an outdated generation makes
    /// librdkafka 2.0.2 treat the whole assignment as lost. Cleared by the next rebalance callback.
    var commitsHeldUntil: ContinuousClock.Instant?
    /// Set at shutdown: nothing new starts.
    private(set) var isStopping = false

    init(maxInFlight: Int) {
        self.maxInFlight = maxInFlight
        self.lanes = LaneTable(limit: maxInFlight)
    }

    var isInOutage: Bool { outageStartedAt != nil }

    mutating func assign(_ partitions: [KafkaTopicPartition]) {
        commitsHeldUntil = nil
        for partition in partitions {
            tracker.assign(partition, generation: nextGeneration)
            nextGeneration += 1
            assigned.insert(partition)
        }
    }

    /// First half of a revoke: no new work for these partitions; their buffered events are dropped.
    mutating func beginRevoke(_ partitions: Set<KafkaTopicPartition>) {
        commitsHeldUntil = nil
        lanes.drop(partitions: partitions)
        assigned.subtract(partitions)
    }

    /// Second half of a revoke: the final offsets to commit; later results for these partitions are discarded.
    mutating func finishRevoke(_ partitions: Set<KafkaTopicPartition>) -> [KafkaTopicPartition: Int64] {
        let offsets = tracker.takeCommittable(only: partitions)
        for partition in partitions { tracker.revoke(partition) }
        return offsets
    }

    /// Shutdown: start nothing new and drop what has not started.
    mutating func stop() {
        isStopping = true
        lanes.limit = 0
        lanes.dropAll()
    }

    /// Total time spent in outages up to `now` (outage time does not use up retry budgets).
    func outageTime(at now: ContinuousClock.Instant) -> Duration {
        guard let start = outageStartedAt else { return outageTotal }
        return outageTotal + (now - start)
    }

    /// Records that June answered (any non-retryable outcome). Returns true when an outage just ended.
    mutating func recordAnswer(key: String?, at now: ContinuousClock.Instant) -> Bool {
        let transition = outage.record(success: true, key: key)
        guard transition == .recovered, let start = outageStartedAt else { return false }
        outageTotal += now - start
        outageStartedAt = nil
        if !isStopping { lanes.limit = maxInFlight }
        return true
    }

    /// Records a retryable failure. Returns true when an outage just began (concurrency drops to one probe).
    mutating func recordFailure(key: String?, at now: ContinuousClock.Instant) -> Bool {
        let transition = outage.record(success: false, key: key)
        guard transition == .enteredOutage, outageStartedAt == nil else { return false }
        outageStartedAt = now
        if !isStopping { lanes.limit = 1 }
        return true
    }

    /// Partitions that should be paused: all while June is down or the total buffer is full, else those
    /// whose own buffer is full. `currentlyPaused` gives hysteresis: a paused partition resumes at half.
    func partitionsToPause(
        currentlyPaused: Set<KafkaTopicPartition>,
        perPartitionLimit: Int,
        totalLimit: Int
    ) -> Set<KafkaTopicPartition> {
        if isInOutage { return assigned }
        let totalPending = tracker.totalPending
        let totalFull = totalPending >= totalLimit
        let totalStillHigh = !currentlyPaused.isEmpty && totalPending > totalLimit / 2
        var result: Set<KafkaTopicPartition> = []
        for partition in assigned {
            let pending = tracker.pendingCount(partition)
            let wasPaused = currentlyPaused.contains(partition)
            if totalFull || pending >= perPartitionLimit || (wasPaused && (pending > perPartitionLimit / 2 || totalStillHigh)) {
                result.insert(partition)
            }
        }
        return result
    }
}
