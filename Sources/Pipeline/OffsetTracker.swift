import Kafka

/// Per-partition bookkeeping of which offsets are done, and the low watermark that may be committed (spec §5).
///
/// A pure value: the pipeline holds it inside its state `Mutex` and performs commits after unlocking.
/// The committable offset of a partition is `n + 1`, where `n` is the highest offset such that every
/// offset the tracker has seen at or below `n` is done. Offsets the tracker never saw (compaction gaps,
/// transaction markers) do not hold the watermark back.
struct OffsetTracker: Sendable {
    private(set) var partitions: [KafkaTopicPartition: PartitionOffsets] = [:]

    /// Number of events seen but not yet committable, over all partitions.
    private(set) var totalPending = 0

    /// Starts tracking a newly assigned partition under a new generation. Results of older generations
    /// are discarded from now on.
    mutating func assign(_ partition: KafkaTopicPartition, generation: UInt64) {
        if let old = partitions[partition] { totalPending -= old.pendingCount }
        partitions[partition] = PartitionOffsets(generation: generation)
    }

    /// Stops tracking a partition (after revoke). Returns its state for a final commit.
    @discardableResult
    mutating func revoke(_ partition: KafkaTopicPartition) -> PartitionOffsets? {
        guard let old = partitions.removeValue(forKey: partition) else { return nil }
        totalPending -= old.pendingCount
        return old
    }

    func generation(of partition: KafkaTopicPartition) -> UInt64? {
        partitions[partition]?.generation
    }

    /// Records a consumed offset. Returns the partition's generation, or nil when the record must be
    /// dropped: its partition is not assigned, or the offset is not above every offset already seen
    /// (a re-fetch after pause/resume).
    mutating func track(_ partition: KafkaTopicPartition, offset: Int64) -> UInt64? {
        guard partitions[partition] != nil else { return nil }
        let accepted = partitions[partition]!.append(offset)
        guard accepted else { return nil }
        totalPending += 1
        return partitions[partition]!.generation
    }

    /// Marks an offset done. Returns false (and changes nothing) when the result is stale: the partition
    /// was revoked or re-assigned since the record was consumed.
    @discardableResult
    mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64, generation: UInt64) -> Bool {
        guard let state = partitions[partition], state.generation == generation else { return false }
        let released = partitions[partition]!.markDone(offset)
        totalPending -= released
        return true
    }

    func pendingCount(_ partition: KafkaTopicPartition) -> Int {
        partitions[partition]?.pendingCount ?? 0
    }

    /// The offsets to commit for partitions whose watermark moved since the last call, marked as committed.
    /// `only` restricts the result to some partitions (a revoke commits just those).
    mutating func takeCommittable(only: Set<KafkaTopicPartition>? = nil) -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for (partition, state) in partitions {
            if let only, !only.contains(partition) { continue }
            guard let next = state.committable, next != state.lastCommitted else { continue }
            result[partition] = next
            partitions[partition]!.lastCommitted = next
        }
        return result
    }

    /// Puts offsets back as not committed, after a commit failed, so the next round retries them.
    mutating func commitFailed(_ offsets: [KafkaTopicPartition: Int64]) {
        for (partition, offset) in offsets where partitions[partition]?.lastCommitted == offset {
            partitions[partition]!.lastCommitted = nil
        }
    }
}
