import Kafka
import Logging
import RelayFormats

/// The one path from "commits to make" to "result recorded": every offset commit of the pipeline (periodic,
/// final, on revoke, recovered at assignment) goes through here.
///
/// A partition the broker refuses with OFFSET_METADATA_TOO_LARGE (its `offset.metadata.max.bytes` is
/// below `--commit-metadata-max-bytes`) is committed again at once with the lower half of its done
/// ranges, then with none: the offset itself is always recorded, and the ranges left out cost re-sends
/// only. Then the result is recorded in the state (confirmed commits supersede unconfirmed ones; failed
/// ones are retried and kept as unconfirmed, see ``RelayWork/commitFailed(_:error:lateCommitWindow:at:)``),
/// the committed-offset gauges and the failure log and counter.
struct OffsetCommitter: Sendable {
    let state: SharedRelayWork
    let metrics: PipelineMetrics
    let logger: Logger

    /// What one commit call achieved.
    struct Outcome: Sendable {
        /// What the group recorded, per partition (the metadata may be shorter than asked).
        var made: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
        /// What it did not, with the commit as it was asked for.
        var failed: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
        /// The first failure, if any.
        var error: KafkaError?
    }

    /// Commits on the consumer's queue (periodic and final commits).
    func commit(
        _ commits: [KafkaTopicPartition: KafkaOffsetCommit],
        consumer: KafkaConsumer,
        timeout: Duration = KafkaConsumer.commitTimeout,
        operation: String
    ) async -> Outcome {
        var rounds = CommitRounds(commits)
        while !rounds.pending.isEmpty {
            do {
                rounds.answered(try await consumer.commitReportingPartitions(rounds.pending, timeout: timeout))
            } catch {
                rounds.failed(error)
            }
        }
        return record(rounds, consumer: consumer, operation: operation)
    }

    /// Commits on the calling thread: for the rebalance handler, which runs on the poll queue.
    func commitOnCallingThread(
        _ commits: [KafkaTopicPartition: KafkaOffsetCommit],
        consumer: KafkaConsumer,
        timeout: Duration = KafkaConsumer.commitTimeout,
        operation: String
    ) -> Outcome {
        var rounds = CommitRounds(commits)
        while !rounds.pending.isEmpty {
            do {
                rounds.answered(try consumer.commitReportingPartitionsOnCallingThread(rounds.pending, timeout: timeout))
            } catch {
                rounds.failed(error)
            }
        }
        return record(rounds, consumer: consumer, operation: operation)
    }

    private func record(_ rounds: CommitRounds, consumer: KafkaConsumer, operation: String) -> Outcome {
        let outcome = rounds.outcome
        for (partition, commit) in rounds.shrunk {
            logger.warning(
                "The broker refused commit metadata as too large (OFFSET_METADATA_TOO_LARGE); committed with fewer done ranges. Lower --commit-metadata-max-bytes to the broker's offset.metadata.max.bytes",
                metadata: [
                    PipelineLoggingKeys.partition: "\(partition)", PipelineLoggingKeys.offset: "\(commit.offset)",
                    "commit.metadata_bytes": "\(commit.metadata.utf8.count)", "commit.operation": "\(operation)",
                ]
            )
        }
        if !outcome.made.isEmpty {
            state.withLock { $0.commitSucceeded(outcome.made) }
            for (partition, commit) in outcome.made { metrics.recordCommitted(partition, offset: commit.offset) }
        }
        if let error = outcome.error {
            let window = consumer.lateCommitWindow
            state.withLock { $0.commitFailed(outcome.failed, error: error, lateCommitWindow: window, at: .now) }
            PipelineEvents.commitFailed(error, during: operation, metrics: metrics, logger: logger)
        }
        return outcome
    }
}

/// The attempts of one commit call, as a value: which partitions are still to commit, which were
/// made, which failed. A partition refused with OFFSET_METADATA_TOO_LARGE is tried again with the lower
/// half of its ranges, then with no metadata (at most three attempts).
struct CommitRounds: Sendable {
    private(set) var pending: [KafkaTopicPartition: KafkaOffsetCommit]
    private(set) var outcome = OffsetCommitter.Outcome()
    /// Partitions committed with less metadata than asked, with what was asked.
    private(set) var shrunk: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
    private let asked: [KafkaTopicPartition: KafkaOffsetCommit]
    private var round = 0

    init(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        pending = commits
        asked = commits
    }

    /// The broker answered: `refused` are the partitions it did not record.
    mutating func answered(_ refused: [KafkaTopicPartition: KafkaError]) {
        var retry: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
        for (partition, commit) in pending {
            guard let error = refused[partition] else {
                outcome.made[partition] = commit
                if commit.metadata != asked[partition]?.metadata { shrunk[partition] = asked[partition] }
                continue
            }
            if error.code == KafkaError.Code.offsetMetadataTooLarge, let smaller = smaller(commit, partition: partition) {
                retry[partition] = smaller
            } else {
                fail(partition, error)
            }
        }
        pending = retry
        round += 1
    }

    /// The commit failed as a whole.
    mutating func failed(_ error: KafkaError) {
        for partition in pending.keys { fail(partition, error) }
        pending = [:]
    }

    private mutating func fail(_ partition: KafkaTopicPartition, _ error: KafkaError) {
        outcome.failed[partition] = asked[partition]
        if outcome.error == nil { outcome.error = error }
    }

    /// Half the ranges after the first refusal, none after the second; nil when there is nothing to drop.
    private func smaller(_ commit: KafkaOffsetCommit, partition: KafkaTopicPartition) -> KafkaOffsetCommit? {
        guard !commit.metadata.isEmpty, round < 2 else { return nil }
        let metadata =
            round == 0
            ? OffsetCommitMetadata.halved(commit.metadata, partition: partition.partition, committed: commit.offset) : ""
        return KafkaOffsetCommit(offset: commit.offset, metadata: metadata)
    }
}
