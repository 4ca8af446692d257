import Kafka

extension PipelineState {
    // MARK: Commits

    /// Commits the group recorded: their unconfirmed entries are superseded.
    mutating func commitsSucceeded(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        unconfirmed.succeeded(commits)
    }

    /// Commits that failed: tried again by the next periodic commit while the partitions stay assigned,
    /// and kept as unconfirmed for the case they do not. A failure caused by a rebalance holds periodic
    /// commits for a quiet period. A commit that timed out may still be made late, within
    /// `lateCommitWindow`: its partitions are re-committed by every round until then.
    mutating func commitsFailed(
        _ commits: [KafkaTopicPartition: KafkaOffsetCommit],
        error: KafkaError,
        lateCommitWindow: Duration = .zero,
        at now: ContinuousClock.Instant = .now
    ) {
        let timedOut = error.code == KafkaError.Code.timedOut
        tracker.commitFailed(commits, lateUntil: timedOut ? now + lateCommitWindow : nil)
        keepUnconfirmed(commits)
        if error.isGroupRebalancing { rebalanceCallbackRan(at: now) }
    }

    /// Commits not made (assignment lost) or not recorded: kept for when the partitions come back.
    mutating func keepUnconfirmed(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        unconfirmed.keep(commits)
    }

    /// Recovered commits whose re-application failed: kept with the bases they had.
    mutating func keepUnconfirmed(_ entries: [KafkaTopicPartition: UnconfirmedCommits.Entry]) {
        unconfirmed.keep(entries)
    }

    /// For partitions being assigned, takes their unconfirmed commits to re-apply over the group's
    /// committed offsets read now (nil: the read failed); see ``UnconfirmedCommits/take(for:committed:)``.
    mutating func takeUnconfirmed(
        for partitions: [KafkaTopicPartition],
        committed: [KafkaTopicPartition: KafkaOffsetCommit]?
    ) -> [KafkaTopicPartition: UnconfirmedCommits.Entry] {
        unconfirmed.take(for: partitions, committed: committed)
    }
}
