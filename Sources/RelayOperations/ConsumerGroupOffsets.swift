import Kafka
import RelayFormats
import Logging

/// `offsets show` and `offsets reset`: reads a group's committed offsets next to the topic's watermarks,
/// plans a reset like `kafka-consumer-groups --reset-offsets`, and applies it.
///
/// Applying joins the group as a member (``KafkaAdmin/commitOffsetsAsGroupMember(group:topic:offsets:timeout:)``),
/// which refuses when another member holds part of the topic: offsets of a running group are never
/// changed under it. Showing and planning only read (OffsetFetch as a non-member, ListOffsets) and
/// never join the group.
public struct ConsumerGroupOffsets: Sendable {
    let admin: KafkaAdmin
    let timeout: Duration
    let logger: Logger

    /// librdkafka properties for the ``KafkaAdmin`` an operator tool uses: `user` (from `--kafka-config`)
    /// over short group-session defaults for the tool's short-lived group member (`session.timeout.ms=6000`,
    /// the broker's usual minimum, and `heartbeat.interval.ms=1000`). A tool that dies while it is a member
    /// then holds the group for 6 s rather than librdkafka's 45 s, and on the dev broker, which keeps a
    /// member that left until its session times out, the next reset waits that long at most.
    public static func toolProperties(_ user: [String: String]) -> [String: String] {
        var properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]
        properties.merge(user) { $1 }
        return properties
    }

    /// - Parameter timeout: for each Kafka request, and for joining the group when applying a plan.
    public init(admin: KafkaAdmin, timeout: Duration = .seconds(30), logger: Logger) {
        self.admin = admin
        self.timeout = timeout
        self.logger = logger
    }

    /// The group's committed offset and the watermarks of every partition of `topic`.
    /// - Throws: ``OperationsError/Kind/unknownTopic`` when the topic does not exist.
    public func snapshot(group: String, topic: String) async throws(OperationsError) -> GroupOffsetsSnapshot {
        let admin = self.admin
        let timeout = self.timeout
        let partitions = try await mappingKafkaErrors("listing partitions of \(topic)") { () async throws(KafkaError) -> [Int32] in
            try await admin.partitions(topic: topic, timeout: timeout)
        }
        let topicPartitions = partitions.map { KafkaTopicPartition(topic: topic, partition: $0) }
        let committed = try await mappingKafkaErrors("reading committed offsets of group \(group)") {
            () async throws(KafkaError) -> [KafkaTopicPartition: KafkaOffsetCommit] in
            try await admin.committedOffsetsWithMetadata(group: group, partitions: topicPartitions, timeout: timeout)
        }
        var rows: [GroupPartitionOffsets] = []
        for tp in topicPartitions {
            let (low, high) = try await mappingKafkaErrors("reading watermarks of \(tp)") {
                () async throws(KafkaError) -> (low: Int64, high: Int64) in
                try await admin.watermarks(tp, timeout: timeout)
            }
            // librdkafka reports "no committed offset" as a negative logical offset.
            let offset = committed[tp].flatMap { $0.offset >= 0 ? $0.offset : nil }
            // Only jr2 metadata written for this partition and this offset counts (what the relay would skip).
            let done = committed[tp].map { commit in
                OffsetCommitMetadata.count(OffsetCommitMetadata.decode(commit.metadata, partition: tp.partition, committed: commit.offset).skippable)
            }
            rows.append(GroupPartitionOffsets(partition: tp.partition, committed: offset, low: low, high: high, doneAbove: done ?? 0))
        }
        return GroupOffsetsSnapshot(group: group, topic: topic, partitions: rows)
    }

    /// The plan for moving `group`'s offsets on `topic` (all partitions, or only `partition`).
    /// Reads only; nothing is committed.
    public func plan(group: String, topic: String, partition: Int32? = nil, mode: OffsetResetMode) async throws(OperationsError) -> OffsetResetPlan {
        let snapshot = try await snapshot(group: group, topic: topic)
        var timestampOffsets: [Int32: Int64] = [:]
        if case .timestamp(let milliseconds) = mode {
            let admin = self.admin
            let timeout = self.timeout
            for row in try OffsetResetPlan.selectedPartitions(snapshot, partition: partition) {
                let tp = KafkaTopicPartition(topic: topic, partition: row.partition)
                timestampOffsets[row.partition] = try await mappingKafkaErrors("finding the offset for the time in \(tp)") {
                    () async throws(KafkaError) -> Int64 in
                    try await admin.offset(forTimestamp: milliseconds, in: tp, timeout: timeout)
                }
            }
        }
        return try OffsetResetPlan.make(snapshot: snapshot, mode: mode, partition: partition, timestampOffsets: timestampOffsets)
    }

    /// Commits the plan's offsets as a member of the group, then reads the group's offsets back.
    ///
    /// - Throws: ``OperationsError/Kind/activeMembers`` when another member of the group is active (nothing
    ///   is committed); ``OperationsError/Kind/timedOut`` when the group could not be joined in time (for
    ///   instance a member that died without leaving still holds it until its session timeout).
    @discardableResult
    public func apply(_ plan: OffsetResetPlan) async throws(OperationsError) -> GroupOffsetsSnapshot {
        let admin = self.admin
        let timeout = self.timeout
        let offsets = plan.offsets
        do throws(KafkaError) {
            try await admin.commitOffsetsAsGroupMember(group: plan.group, topic: plan.topic, offsets: offsets, timeout: timeout)
        } catch {
            if error.code == KafkaError.Code.state {
                throw OperationsError(
                    kind: .activeMembers,
                    message: "refusing to reset offsets: \(error.message) (offsets are unchanged)",
                    underlying: error
                )
            }
            throw OperationsError.kafka(error, while: "committing new offsets for group \(plan.group)")
        }
        logger.info(
            "Group offsets reset",
            metadata: [
                KafkaLoggingKeys.groupID: "\(plan.group)",
                KafkaLoggingKeys.topic: "\(plan.topic)",
                KafkaLoggingKeys.partitions: "\(plan.changes.map { "\($0.partition)=\($0.target)" }.joined(separator: ","))",
            ]
        )
        return try await snapshot(group: plan.group, topic: plan.topic)
    }
}
