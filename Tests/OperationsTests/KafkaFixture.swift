import Foundation
import Kafka
import Logging
import RelayOperations
import Testing

/// A librdkafka mock cluster in this process, plus helpers to produce records and to act as a group
/// member the way a relay does.
final class KafkaFixture: Sendable {
    let cluster: KafkaMockCluster
    let logger: Logger
    let producer: KafkaProducer

    init(topics: [String: Int]) throws {
        var logger = Logger(label: "operations-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        self.logger = logger
        cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        for (topic, partitions) in topics {
            try cluster.createTopic(topic, partitions: partitions)
        }
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.linger = .milliseconds(1)
        producer = try KafkaProducer(configuration: configuration, logger: logger)
    }

    var bootstrapServers: String { cluster.bootstrapServers }

    func admin() throws -> KafkaAdmin {
        try KafkaAdmin(bootstrapServers: bootstrapServers, additionalProperties: ConsumerGroupOffsets.toolProperties([:]), logger: logger)
    }

    /// Writes `count` records to the partition, in order, each with `timestamp(i)` as create time.
    func produce(topic: String, partition: Int32, count: Int, timestamp: (Int) -> Int64? = { _ in nil }) async throws {
        for index in 0..<count {
            let record = KafkaProducerRecord(
                topic: topic, partition: partition, key: Array("k\(index)".utf8),
                value: Array("p\(partition)-\(index)".utf8), timestamp: timestamp(index)
            )
            _ = try await producer.send(record)
        }
    }

    /// A relay-like member: `cooperative-sticky`, short session timeout.
    func member(group: String) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group)
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }

    /// Joins `group`, polls until it holds `partitions` partitions of `topic`, and returns the member
    /// (still in the group; records it read are discarded).
    func joinedMember(group: String, topic: String, partitions: Int, timeout: Duration = .seconds(30)) async throws -> KafkaConsumer {
        let consumer = try member(group: group)
        try consumer.subscribe(topics: [topic])
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while try consumer.assignment().count < partitions {
            guard ContinuousClock.now < deadline else {
                throw KafkaError.timedOut("test member joining \(group)")
            }
            _ = try await consumer.poll(maxMessages: 100, timeout: .milliseconds(100))
        }
        return consumer
    }

    /// Commits `offsets` as a member of `group` and leaves, like a relay that read that far and stopped.
    /// Afterwards the mock cluster refuses standalone commits for the group (it had members).
    func commitAsRelay(group: String, topic: String, partitions: Int, offsets: [Int32: Int64]) async throws {
        let consumer = try await joinedMember(group: group, topic: topic, partitions: partitions)
        var commit: [KafkaTopicPartition: Int64] = [:]
        for (partition, offset) in offsets { commit[KafkaTopicPartition(topic: topic, partition: partition)] = offset }
        try await consumer.commit(commit)
        try await consumer.close()
    }

    /// Reads records of `topic` with a fresh group until `count` arrived (or `timeout`).
    func readAll(topic: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        let consumer = try member(group: "reader-\(UUID().uuidString)")
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
        }
        // Anything more would be a duplicate: give it a moment to show up.
        messages += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(500))
        try await consumer.close()
        return messages
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
