import Kafka

/// What `offsets reset` will do: per partition, the current committed offset and the new one.
/// Built purely from a ``GroupOffsetsSnapshot`` (plus, for timestamps, the offsets found for the time).
public struct OffsetResetPlan: Sendable, Equatable {
    /// One partition's move.
    public struct Change: Sendable, Equatable {
        public var partition: Int32
        /// The committed offset now, or `nil` when the group has none.
        public var current: Int64?
        /// The offset that will be committed.
        public var target: Int64
        /// The partition's watermarks when the plan was made.
        public var low: Int64
        public var high: Int64
        /// The offset asked for with `--to-offset` when it was outside `[low, high]` and was clamped.
        public var clampedFrom: Int64?

        public init(partition: Int32, current: Int64?, target: Int64, low: Int64, high: Int64, clampedFrom: Int64? = nil) {
            self.partition = partition
            self.current = current
            self.target = target
            self.low = low
            self.high = high
            self.clampedFrom = clampedFrom
        }

        /// Whether committing this moves the group (a missing committed offset counts as a move).
        public var isMove: Bool { current != target }

        /// Records the group will read after the reset: `high - target`.
        public var lagAfter: Int64 { max(0, high - target) }
    }

    public var group: String
    public var topic: String
    public var mode: OffsetResetMode
    /// Sorted by partition.
    public var changes: [Change]

    public init(group: String, topic: String, mode: OffsetResetMode, changes: [Change]) {
        self.group = group
        self.topic = topic
        self.mode = mode
        self.changes = changes.sorted { $0.partition < $1.partition }
    }

    /// The offsets to commit.
    public var offsets: [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for change in changes {
            result[KafkaTopicPartition(topic: topic, partition: change.partition)] = change.target
        }
        return result
    }

    /// Makes the plan for `mode`, for every partition of the snapshot or only `partition`.
    ///
    /// - Parameter timestampOffsets: for ``OffsetResetMode/timestamp(milliseconds:)``, the offset found
    ///   for the time in each planned partition (a missing one means the high watermark).
    /// - Throws: ``OperationsError/Kind/invalidArgument`` when `partition` is not a partition of the topic.
    public static func make(
        snapshot: GroupOffsetsSnapshot,
        mode: OffsetResetMode,
        partition: Int32? = nil,
        timestampOffsets: [Int32: Int64] = [:]
    ) throws(OperationsError) -> OffsetResetPlan {
        let selected = try selectedPartitions(snapshot, partition: partition)
        let changes = selected.map { row -> Change in
            let requested: Int64
            switch mode {
            case .earliest: requested = row.low
            case .latest: requested = row.high
            case .offset(let offset): requested = offset
            case .timestamp: requested = timestampOffsets[row.partition] ?? row.high
            }
            let target = min(max(requested, row.low), row.high)
            return Change(
                partition: row.partition,
                current: row.committed,
                target: target,
                low: row.low,
                high: row.high,
                clampedFrom: target == requested ? nil : requested
            )
        }
        return OffsetResetPlan(group: snapshot.group, topic: snapshot.topic, mode: mode, changes: changes)
    }

    /// The rows of the snapshot the reset applies to.
    static func selectedPartitions(_ snapshot: GroupOffsetsSnapshot, partition: Int32?) throws(OperationsError) -> [GroupPartitionOffsets] {
        guard let partition else { return snapshot.partitions }
        guard let row = snapshot[partition] else {
            let known = snapshot.partitions.map { String($0.partition) }.joined(separator: ", ")
            throw OperationsError.invalidArgument(
                "topic \(snapshot.topic) has no partition \(partition) (partitions: \(known))"
            )
        }
        return [row]
    }
}
