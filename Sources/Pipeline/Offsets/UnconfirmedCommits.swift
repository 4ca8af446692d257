import Kafka

/// Commits this member made (or would have made) but could not confirm: a commit that failed in a
/// rebalance or timed out, and the offsets of an assignment that was lost (not committed: the commit
/// would fail, and in librdkafka 2.0.2 a failed commit starts yet another rejoin, librdkafka issue
/// #4059). Offsets this member knows are done, but the group may not have recorded.
///
/// Each is kept with its *base*: the group offset it was made over, as this member knew it (the committed
/// offset read at the assignment that started the ownership, or the ownership's last confirmed commit).
/// When the partition comes back to this member, the commit is re-applied only if the group's offset
/// read now is that base, or lies between the base and the commit (its own late commit, or an earlier
/// one, landed). Any other reading means someone else moved the offset — an operator's reset, a
/// re-created topic, another member's progress — or tells nothing (the read failed, the group has no
/// offset, no base was known): then the commit is dropped, never re-applied over it.
struct UnconfirmedCommits: Sendable {
    struct Entry: Sendable, Equatable {
        var commit: KafkaOffsetCommit
        /// The group offset the commit was based on; nil when this member never knew one.
        var base: Int64?
    }

    /// The highest unconfirmed commit per partition.
    private(set) var entries: [KafkaTopicPartition: Entry] = [:]
    /// Per partition, the group offset this member knows the group recorded during its current (or last)
    /// ownership. Kept after a revoke, for the commits of that ownership.
    private(set) var confirmed: [KafkaTopicPartition: Int64] = [:]

    /// An ownership starts: the group's offset read at assignment (nil: none, or the read failed).
    mutating func startOwnership(_ partition: KafkaTopicPartition, confirmed offset: Int64?) {
        confirmed[partition] = offset
    }

    /// Commits the group recorded: they are the new bases, and unconfirmed entries they reach are superseded.
    mutating func succeeded(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        for (partition, commit) in commits {
            confirmed[partition] = commit.offset
            if let entry = entries[partition], entry.commit.offset <= commit.offset { entries[partition] = nil }
        }
    }

    /// Commits not made or not confirmed, based on the partitions' confirmed offsets. The highest is kept.
    mutating func keep(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        keep(commits.mapValues { commit in Entry(commit: commit, base: nil) }, rebasing: true)
    }

    /// Entries taken by ``take(for:committed:)`` whose re-application failed: kept with their own bases
    /// (replacing the same commit kept with a base looked up again).
    mutating func keep(_ taken: [KafkaTopicPartition: Entry]) {
        keep(taken, rebasing: false)
    }

    private mutating func keep(_ new: [KafkaTopicPartition: Entry], rebasing: Bool) {
        for (partition, var entry) in new {
            let existing = entries[partition]?.commit.offset ?? .min
            guard entry.commit.offset > existing || (!rebasing && entry.commit.offset == existing) else { continue }
            if rebasing { entry.base = confirmed[partition] }
            entries[partition] = entry
        }
    }

    /// For partitions being assigned, takes their unconfirmed commits and returns those to re-apply: the
    /// group's offset read now (`committed`; nil when the read failed) is their base or between the base
    /// and the commit. The others are dropped.
    mutating func take(
        for partitions: [KafkaTopicPartition],
        committed: [KafkaTopicPartition: KafkaOffsetCommit]?
    ) -> [KafkaTopicPartition: Entry] {
        var result: [KafkaTopicPartition: Entry] = [:]
        for partition in partitions {
            guard let entry = entries.removeValue(forKey: partition) else { continue }
            guard let base = entry.base, let now = committed?[partition]?.offset, now >= 0 else { continue }
            if now >= base, now < entry.commit.offset { result[partition] = entry }
        }
        return result
    }
}
