/// A topic and one of its partitions.
public struct KafkaTopicPartition: Hashable, Sendable {
    /// The topic name.
    public var topic: String
    /// The partition number within the topic.
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
}

// MARK: - KafkaTopicPartition + CustomStringConvertible

extension KafkaTopicPartition: CustomStringConvertible {
    public var description: String { "\(topic)[\(partition)]" }
}

// MARK: - KafkaTopicPartition + Comparable

extension KafkaTopicPartition: Comparable {
    public static func < (lhs: KafkaTopicPartition, rhs: KafkaTopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}
