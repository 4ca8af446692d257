/// A record read from Kafka. The bytes are copies: the value never points into librdkafka memory.
/// Only the consumer makes one (its memberwise initializer is internal; tests reach it with
/// `@testable import Kafka`).
public struct KafkaMessage: Sendable {
    /// The topic the record was read from.
    public var topic: String
    /// The partition the record was read from.
    public var partition: Int32
    /// The record's offset in its partition.
    public var offset: Int64
    /// The record key; `nil` means the record has no key.
    public var key: [UInt8]?
    /// The record value; `nil` means a tombstone.
    public var value: [UInt8]?
    /// The record headers, in order.
    public var headers: [KafkaHeader] = []
    /// Milliseconds since the epoch (create time or log-append time); `nil` if unavailable.
    public var timestamp: Int64?

    /// The record's topic and partition.
    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }
}
