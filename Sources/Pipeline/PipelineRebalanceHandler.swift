import JuneTransform
import CoreMetrics
import Foundation
import Kafka
import Logging
import RelayFormats

/// The pipeline's side of a rebalance, called synchronously inside librdkafka's rebalance callback on the
/// consumer's poll thread (never on the cooperative pool, so blocking here is fine).
///
/// Assign: reads the partitions' committed offsets and metadata (done offsets above the committed one,
/// which are then skipped) and starts each partition under a new epoch.
/// A commit of this member that met a rebalance, or was never made because the assignment was lost, is
/// made at the next assignment of its partition (see ``RelayWork/unconfirmed``).
///
/// Revoke: start no new work for the partitions, wait (on a condition, up to the drain timeout) until no
/// June request or dead-letter write holds their records, commit, then forget them; later results are
/// discarded by the epoch check. Since every request ends by its deadline and the request timeout is at
/// most the drain timeout, no attempt of this member reaches June after the partitions are released.
final class PipelineRebalanceHandler: KafkaRebalanceHandler {
    private let state: SharedRelayWork
    private let committer: OffsetCommitter
    private let drainTimeout: Duration
    private let metrics: PipelineMetrics
    private let logger: Logger

    /// How long reading committed offsets at assignment may take before the metadata is given up.
    static let committedReadTimeout: Duration = .seconds(5)
    /// While stopping, waits and commits here share the shutdown budget (``SharedRelayWork``); a
    /// read or commit is still given this long when the budget is spent.
    static let commitFloor: Duration = .milliseconds(200)

    init(state: SharedRelayWork, committer: OffsetCommitter, drainTimeout: Duration, metrics: PipelineMetrics, logger: Logger) {
        self.state = state
        self.committer = committer
        self.drainTimeout = drainTimeout
        self.metrics = metrics
        self.logger = logger
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        guard !partitions.isEmpty else {
            state.withLock { $0.joinedWithoutNewPartitions() }
            logger.debug("Rebalance finished with no new partitions")
            return
        }
        // nil when the read failed: then nothing recovered is re-applied (see UnconfirmedCommits).
        var committed: [KafkaTopicPartition: KafkaOffsetCommit]?
        do {
            committed = try consumer.committedOnCallingThread(
                partitions, timeout: state.callbackBudget(Self.committedReadTimeout, floor: Self.commitFloor))
        } catch {
            // Without the metadata, everything above the committed offset is processed (re-sends only).
            logger.warning("Reading committed offsets at assignment failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
        }
        let recovered = commitRecovered(for: partitions, committed: committed, consumer: consumer)
        let (total, ignored) = state.withLock { state in
            let ignored = state.assign(partitions, committed: committed ?? [:], recovered: recovered)
            return (state.assigned.count, ignored)
        }
        // A partition paused before it was revoked must not stay paused when it comes back.
        try? consumer.resume(partitions)
        metrics.assignments.increment()
        metrics.assigned.record(total)
        reportIgnoredMetadata(ignored, committed: committed ?? [:])
        let recorded = (committed ?? [:]).filter { !$0.value.metadata.isEmpty && ignored[$0.key] == nil }.count
        logger.info(
            "Partitions assigned",
            metadata: [
                PipelineLoggingKeys.partitions: "\(Self.describe(partitions))",
                "kafka.assigned_total": "\(total)",
                "offsets.with_done_metadata": "\(recorded)",
            ]
        )
    }

    /// Committed metadata not used at this assignment: counted, and logged once per partition.
    private func reportIgnoredMetadata(
        _ ignored: [KafkaTopicPartition: OffsetCommitMetadata.IgnoredReason],
        committed: [KafkaTopicPartition: KafkaOffsetCommit]
    ) {
        for (partition, reason) in ignored.sorted(by: { $0.key < $1.key }) {
            metrics.recordMetadataIgnored(reason)
            let metadata = committed[partition]?.metadata ?? ""
            logger.warning(
                "Commit metadata ignored: every record above the committed offset is processed",
                metadata: [
                    PipelineLoggingKeys.partition: "\(partition)",
                    "offsets.committed": "\(committed[partition]?.offset ?? -1)",
                    "offsets.metadata_base": "\(OffsetCommitMetadata.describeBase(metadata))",
                    "offsets.ignored_reason": "\(reason.rawValue)",
                ]
            )
        }
    }

    /// Commits this member's unconfirmed offsets (a commit that met a rebalance, or a lost assignment)
    /// of the partitions it gets back, where the group's offset read now is the one they were based on
    /// (or between it and them). Returns the commits made.
    private func commitRecovered(
        for partitions: [KafkaTopicPartition],
        committed: [KafkaTopicPartition: KafkaOffsetCommit]?,
        consumer: KafkaConsumer
    ) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        let recovered = state.withLock { $0.takeUnconfirmed(for: partitions, committed: committed) }
        guard !recovered.isEmpty else { return [:] }
        let outcome = committer.commitOnCallingThread(
            recovered.mapValues(\.commit),
            consumer: consumer,
            timeout: state.callbackBudget(KafkaConsumer.commitTimeout, floor: Self.commitFloor),
            operation: "assignment"
        )
        if !outcome.failed.isEmpty {
            state.withLock { $0.keepUnconfirmed(recovered.filter { outcome.failed[$0.key] != nil }) }
        }
        if !outcome.made.isEmpty {
            logger.info(
                "Offsets of an earlier ownership committed",
                metadata: [PipelineLoggingKeys.partitions: "\(Self.describe(Array(outcome.made.keys)))"]
            )
        }
        return outcome.made
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        release(partitions, lost: false, consumer: consumer)
    }

    /// As a revoke, but without the commit (it would fail, and in librdkafka 2.0.2 a failed commit
    /// starts yet another rejoin): the offsets are kept as unconfirmed, and committed if the partitions
    /// come back to this member.
    func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        release(partitions, lost: true, consumer: consumer)
    }

    private func release(_ partitions: [KafkaTopicPartition], lost: Bool, consumer: KafkaConsumer) {
        guard !partitions.isEmpty else { return }
        let revoked = Set(partitions)
        let signal = state.withLock { state in
            state.beginRevoke(revoked)
            return state.drainSignal(for: revoked)
        }
        logger.info(
            lost ? "Partitions lost: draining" : "Partitions revoked: draining",
            metadata: [PipelineLoggingKeys.partitions: "\(Self.describe(partitions))"])
        if let signal, signal.wait(timeout: .now() + state.callbackBudget(drainTimeout).inSeconds) == .timedOut {
            let left = state.withLock { state in
                state.removeDrainSignal(signal)
                return state.activeRecords(in: revoked)
            }
            logger.warning("Drain timeout on revoke; in-flight events will be re-delivered", metadata: [PipelineLoggingKeys.count: "\(left)"])
        }
        let commits = state.withLock { state in
            let commits = state.finishRevoke(revoked)
            if lost { state.keepUnconfirmed(commits) }
            return commits
        }
        if !commits.isEmpty, !lost {
            _ = committer.commitOnCallingThread(
                commits,
                consumer: consumer,
                timeout: state.callbackBudget(KafkaConsumer.commitTimeout, floor: Self.commitFloor),
                operation: "revoke"
            )
        }
        for partition in partitions { metrics.clearPartition(partition) }
        metrics.revocations.increment()
        metrics.assigned.record(state.withLock { $0.assigned.count })
    }

    private static func describe(_ partitions: [KafkaTopicPartition]) -> String {
        partitions.map { "\($0.topic)[\($0.partition)]" }.sorted().joined(separator: ",")
    }
}
