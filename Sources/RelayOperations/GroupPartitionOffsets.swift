/// One partition of a group's view of a topic: what `offsets show` prints per row.
public struct GroupPartitionOffsets: Sendable, Equatable {
    /// The partition number.
    public var partition: Int32
    /// The group's committed offset (next offset to read), or `nil` when the group has none.
    public var committed: Int64?
    /// The low watermark: the oldest offset still stored.
    public var low: Int64
    /// The high watermark ("end offset"): the offset the next record will get.
    public var high: Int64
    /// Offsets above the committed one that the relay recorded as done in the commit metadata (the next
    /// owner skips them); 0 when there is no such metadata.
    public var doneAbove: Int64

    public init(partition: Int32, committed: Int64?, low: Int64, high: Int64, doneAbove: Int64 = 0) {
        self.partition = partition
        self.committed = committed
        self.low = low
        self.high = high
        self.doneAbove = doneAbove
    }

    /// Records the group has still to read: `high - committed`. Without a committed offset, or with one
    /// below the low watermark, the relay starts at the low watermark (`auto.offset.reset=earliest`), so
    /// lag counts from there. Never negative.
    public var lag: Int64 {
        max(0, high - max(committed ?? low, low))
    }

    /// Records the relay still has to process: the lag minus the offsets recorded as done above the
    /// committed one (those are skipped, not sent again).
    public var remaining: Int64 {
        max(0, lag - doneAbove)
    }
}

/// A group's committed offsets and the watermarks of one topic, per partition (sorted by partition).
public struct GroupOffsetsSnapshot: Sendable, Equatable {
    public var group: String
    public var topic: String
    public var partitions: [GroupPartitionOffsets]

    public init(group: String, topic: String, partitions: [GroupPartitionOffsets]) {
        self.group = group
        self.topic = topic
        self.partitions = partitions.sorted { $0.partition < $1.partition }
    }

    /// The sum of every partition's ``GroupPartitionOffsets/lag``.
    public var totalLag: Int64 {
        partitions.reduce(0) { $0 + $1.lag }
    }

    /// The partition's row, if the topic has it.
    public subscript(partition: Int32) -> GroupPartitionOffsets? {
        partitions.first { $0.partition == partition }
    }
}
