import Kafka

/// One serial lane: events of the same ordering key within one partition run strictly in offset order.
/// A nil key (no userId, anonymousId or Kafka key) makes the whole partition one lane.
struct LaneKey: Hashable, Sendable {
    var partition: KafkaTopicPartition
    var key: String?
}
