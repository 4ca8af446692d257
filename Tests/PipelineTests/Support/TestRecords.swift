import JuneTransform
@testable import Kafka

@testable import Pipeline

/// Builders for the pure-value tests (lanes, offsets, state): records without Kafka or June.
enum TestRecords {
    static let p0 = KafkaTopicPartition(topic: "events", partition: 0)
    static let p1 = KafkaTopicPartition(topic: "events", partition: 1)

    /// A record of `partition` at `offset`, in the lane of `key` (nil: the partition's own lane), costing `bytes`.
    static func record(
        _ offset: Int64,
        key: String?,
        partition: KafkaTopicPartition = p0,
        epoch: UInt64 = 1,
        bytes: Int = 10
    ) -> RelayRecord {
        RelayRecord(
            lane: LaneKey(partition: partition, kind: key.map { .key($0) } ?? .partition),
            message: KafkaMessage(
                topic: partition.topic, partition: partition.partition, offset: offset,
                key: nil, value: Array(repeating: 0x20, count: bytes), headers: [], timestamp: nil
            ),
            request: .success(JuneRequest(type: .track, body: Array("{}".utf8), orderingKey: key)),
            epoch: epoch,
            byteCost: bytes
        )
    }

    /// A record that failed its transform: it gets a lane of its own.
    static func invalid(_ offset: Int64, partition: KafkaTopicPartition = p0, epoch: UInt64 = 1) -> RelayRecord {
        RelayRecord(
            lane: LaneKey(partition: partition, kind: .invalidRecord(offset: offset)),
            message: KafkaMessage(
                topic: partition.topic, partition: partition.partition, offset: offset,
                key: nil, value: Array("{bad".utf8), headers: [], timestamp: nil
            ),
            request: .failure(TransformError(reason: .invalidJSON, message: "test")),
            epoch: epoch,
            byteCost: 4
        )
    }
}

extension Array where Element == RelayRecord {
    /// The offsets, for compact expectations.
    var offsets: [Int64] { map(\.offset) }
}
