import Kafka

/// One serial lane: events of the same ordering key within one partition run strictly in offset order.
///
/// The key is hashed once, when it is made: a record's lane is looked up several times on its way
/// (queued, taken, finished), and hashing the topic and the user id each time showed in profiles.
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

    let partition: KafkaTopicPartition
    let kind: Kind
    private let hash: Int

    init(partition: KafkaTopicPartition, kind: Kind) {
        self.partition = partition
        self.kind = kind
        var hasher = Hasher()
        hasher.combine(partition)
        hasher.combine(kind)
        hash = hasher.finalize()
    }

    static func == (lhs: LaneKey, rhs: LaneKey) -> Bool {
        lhs.hash == rhs.hash && lhs.kind == rhs.kind && lhs.partition == rhs.partition
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
