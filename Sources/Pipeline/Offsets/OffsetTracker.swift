import Kafka
import RelayFormats

/// Per-partition offset bookkeeping for every assigned partition (see ``PartitionOffsets``), and the
/// commits to make. A pure value: the pipeline holds it inside its state lock and commits after unlocking.
struct OffsetTracker: Sendable {
    private(set) var partitions: [KafkaTopicPartition: PartitionOffsets] = [:]

    /// Unfinished records over all partitions.
    private(set) var totalUnfinished = 0

    /// What to do with a consumed record.
    enum TrackResult: Equatable {
        /// Process it under this partition epoch.
        case process(epoch: UInt64)
        /// Already done (listed in the committed metadata): skip it.
        case skip
        /// Not for us (partition not assigned, or a re-fetched offset): drop it.
        case drop
    }

    /// Starts tracking a newly assigned partition under a new epoch, from its committed offset and
    /// metadata when known. Results of older epochs are discarded from now on.
    ///
    /// - Parameter recoveredFrom: set when `committed` is an earlier ownership's commit recovered at this
    ///   assignment, above the group's committed offset `recoveredFrom` (see ``PartitionOffsets``).
    mutating func assign(
        _ partition: KafkaTopicPartition,
        epoch: UInt64,
        committed: KafkaOffsetCommit? = nil,
        recoveredFrom: Int64? = nil
    ) {
        if let old = partitions[partition] { totalUnfinished -= old.unfinishedCount }
        partitions[partition] = PartitionOffsets(
            epoch: epoch, partition: partition.partition, committed: committed, recoveredFrom: recoveredFrom
        )
    }

    /// Stops tracking a partition (after revoke).
    @discardableResult
    mutating func revoke(_ partition: KafkaTopicPartition) -> PartitionOffsets? {
        guard let old = partitions.removeValue(forKey: partition) else { return nil }
        totalUnfinished -= old.unfinishedCount
        return old
    }

    func epoch(of partition: KafkaTopicPartition) -> UInt64? {
        partitions[partition]?.epoch
    }

    mutating func track(_ partition: KafkaTopicPartition, offset: Int64, at now: ContinuousClock.Instant = .now) -> TrackResult {
        guard partitions[partition] != nil else { return .drop }
        switch partitions[partition]!.append(offset, at: now) {
        case .process:
            totalUnfinished += 1
            return .process(epoch: partitions[partition]!.epoch)
        case .skip:
            return .skip
        case .stale:
            return .drop
        }
    }

    /// Marks an offset done. Returns false (and changes nothing) when the result is stale: the partition
    /// was revoked or re-assigned since the record was consumed.
    @discardableResult
    mutating func markDone(_ partition: KafkaTopicPartition, offset: Int64, epoch: UInt64) -> Bool {
        guard partitions[partition]?.epoch == epoch else { return false }
        if partitions[partition]!.markDone(offset) { totalUnfinished -= 1 }
        return true
    }

    func unfinishedCount(_ partition: KafkaTopicPartition) -> Int {
        partitions[partition]?.unfinishedCount ?? 0
    }

    func uncommittedCount(_ partition: KafkaTopicPartition) -> Int64 {
        partitions[partition]?.uncommittedCount ?? 0
    }

    /// The commits (offset and done-offsets metadata) for partitions whose state changed since the last
    /// call, or whose earlier commit timed out less than a late-commit window ago, marked as committed.
    /// `only` restricts the result to some partitions (a revoke commits just those).
    mutating func takeCommittable(
        only: Set<KafkaTopicPartition>? = nil,
        metadataLimit: Int = OffsetCommitMetadata.defaultLimit,
        at now: ContinuousClock.Instant = .now
    ) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        var result: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
        for (partition, state) in partitions {
            if let only, !only.contains(partition) { continue }
            guard let commit = state.commit(metadataLimit: metadataLimit) else { continue }
            guard commit != state.lastCommitted || state.recommitUntil != nil else { continue }
            result[partition] = commit
            partitions[partition]!.lastCommitted = commit
            // The round at or after the window's end is the last re-commit.
            if let until = state.recommitUntil, now >= until { partitions[partition]!.recommitUntil = nil }
        }
        return result
    }

    /// Puts commits back as not made, after a commit failed, so the next round retries them. A commit
    /// that timed out may still be made late (`lateUntil`): the partitions are re-committed until then.
    mutating func commitFailed(_ commits: [KafkaTopicPartition: KafkaOffsetCommit], lateUntil: ContinuousClock.Instant? = nil) {
        for (partition, commit) in commits where partitions[partition] != nil {
            if partitions[partition]!.lastCommitted == commit { partitions[partition]!.lastCommitted = nil }
            if let lateUntil { partitions[partition]!.recommitUntil = max(partitions[partition]!.recommitUntil ?? lateUntil, lateUntil) }
        }
    }
}
