/// Where the broker stored a produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// The topic written to.
    public var topic: String
    /// The partition written to.
    public var partition: Int32
    /// The record's offset (`-1001` if the broker did not return one, e.g. `acks=0`).
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
