/// A committed (or to-be-committed) position of a consumer group in one partition: the next offset to
/// read, and the free-form metadata string Kafka stores beside it (at most the broker's
/// `offset.metadata.max.bytes`, 4096 by default).
public struct KafkaOffsetCommit: Sendable, Hashable {
    public var offset: Int64
    public var metadata: String

    public init(offset: Int64, metadata: String = "") {
        self.offset = offset
        self.metadata = metadata
    }
}
