/// A record to produce.
public struct KafkaProducerRecord: Sendable {
    /// The topic to write to.
    public var topic: String
    /// The partition to write to; `nil` lets the partitioner choose (by key hash when there is a key).
    public var partition: Int32?
    /// The record key; `nil` for no key.
    public var key: [UInt8]?
    /// The record value; `nil` for a tombstone.
    public var value: [UInt8]?
    /// Record headers, in order.
    public var headers: [KafkaHeader]
    /// Create time in milliseconds since the epoch; `nil` lets librdkafka use the current time.
    public var timestamp: Int64?

    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
