import Kafka
import RelayFormats

// MARK: - RelayWork + assignment, revoke and commits

extension RelayWork {
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
    mutating func finishRevoke(_ partitions: Set<KafkaTopicPartition>) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        let commits = tracker.takeCommittable(only: partitions, metadataLimit: configuration.commitMetadataLimit)
        for partition in partitions { tracker.revoke(partition) }
        return commits
    }

    // MARK: Commits

    /// Commits the group recorded: their unconfirmed entries are superseded.
    mutating func commitSucceeded(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        unconfirmed.succeeded(commits)
    }

    /// Commits that failed: tried again by the next periodic commit while the partitions stay assigned,
    /// and kept as unconfirmed for the case they do not. A failure caused by a rebalance holds periodic
    /// commits for a quiet period. A commit that timed out may still be made late, within
    /// `lateCommitWindow`: its partitions are re-committed by every round until then.
    mutating func commitFailed(
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

    /// The commits a periodic (or final) commit makes now: the offsets and done-offset metadata that
    /// changed since the last commit, unless commits are held (see ``commitsHeldUntil``).
    mutating func takeCommits(at now: ContinuousClock.Instant) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        if let until = commitsHeldUntil, now < until { return [:] }
        commitsHeldUntil = nil
        return tracker.takeCommittable(metadataLimit: configuration.commitMetadataLimit, at: now)
    }

    /// The final commit begins: commits are no longer held. Returns the partitions owned now.
    mutating func beginFinalCommit() -> Set<KafkaTopicPartition> {
        commitsHeldUntil = nil
        return assigned
    }

    /// Whether periodic commits wait now (the group rebalances).
    func commitsHeld(at now: ContinuousClock.Instant) -> Bool {
        commitsHeldUntil.map { now < $0 } ?? false
    }
}
