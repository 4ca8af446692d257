import Kafka

/// One serial lane: events of the same ordering key within one partition run strictly in offset order.
struct LaneKey: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// The event's ordering key (userId, else anonymousId, else the Kafka message key).
        case key(String)
        /// No ordering key at all: the whole partition is one lane.
        case partition
        /// A record that cannot be transformed: dead-lettered at once, in a lane of its own, since it has
        /// no June order to keep.
        case invalidRecord(offset: Int64)
    }

    var partition: KafkaTopicPartition
    var kind: Kind
}
