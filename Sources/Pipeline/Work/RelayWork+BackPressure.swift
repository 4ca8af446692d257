import Kafka

// MARK: - RelayWork + back-pressure

extension RelayWork {
    /// What the fetch loop does about a full buffer before it polls.
    enum Throttle: Equatable {
        /// Poll as usual.
        case poll
        /// The whole buffer is full: skip this poll (librdkafka keeps its own bounded prefetch).
        case wait
        /// Full for `maxThrottle` already: poll, with every partition paused.
        case pauseAll
    }

    /// Whole-buffer back-pressure: while `maxBufferedTotal` records or `maxBufferedBytes` bytes are held,
    /// the fetch loop stops polling instead of pausing partitions, because librdkafka 2.0.2 discards a
    /// partition's prefetched records on resume and fetches them again. Polling is skipped for at most
    /// `maxThrottle`: a buffer that does not drain (lanes stuck in long retries) falls back to pausing
    /// every partition, so the member keeps polling and serving rebalances.
    mutating func throttle(at now: ContinuousClock.Instant) -> Throttle {
        let full =
            mode == .running
            && (tracker.totalUnfinished >= configuration.maxBufferedTotal || lanes.queuedBytes >= configuration.maxBufferedBytes)
        guard full else {
            throttledSince = nil
            return .poll
        }
        let since = throttledSince ?? now
        throttledSince = since
        return now - since >= configuration.maxThrottle ? .pauseAll : .wait
    }

    /// Partitions to pause and to resume now (all of them while June is unavailable or the relay is
    /// stopping or `pauseAll`). The paused set lives here, so a revoke or re-assignment inside a poll
    /// (whose callbacks resume the partition) keeps it true.
    mutating func backPressure(pauseAll: Bool) -> (pause: Set<KafkaTopicPartition>, resume: Set<KafkaTopicPartition>) {
        let wanted = partitionsToPause(
            perPartitionLimit: configuration.maxBufferedPerPartition,
            uncommittedLimit: configuration.maxUncommitted,
            pauseAll: pauseAll
        )
        let pause = wanted.subtracting(paused)
        let resume = paused.subtracting(wanted)
        paused = wanted
        return (pause, resume)
    }

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
