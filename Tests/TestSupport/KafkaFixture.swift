import Foundation
import Kafka
import Logging

/// A librdkafka mock cluster in the test process, with a ``KafkaTestClient`` for it. Each test starts
/// its own (they are cheap) and uses ``uniqueName(_:)`` for topics and groups.
package final class KafkaFixture: Sendable {
    package let cluster: KafkaMockCluster
    package let client: KafkaTestClient
    /// A producer with a 1 ms linger, closed when the fixture is released.
    package let producer: KafkaProducer

    package init(brokers: Int = 1, topics: [String: Int] = [:]) throws {
        cluster = try KafkaMockCluster(brokers: brokers, logger: KafkaTestClient.logger)
        for (topic, partitions) in topics {
            try cluster.createTopic(topic, partitions: partitions)
        }
        client = KafkaTestClient(bootstrapServers: cluster.bootstrapServers)
        producer = try client.producer()
    }

    package var bootstrapServers: String { cluster.bootstrapServers }
    package var logger: Logger { client.logger }

    /// An admin client with the properties the operator tools use.
    package func admin(additionalProperties: [String: String] = [:]) throws -> KafkaAdmin {
        try KafkaAdmin(bootstrapServers: bootstrapServers, additionalProperties: additionalProperties, logger: logger)
    }

    /// ``KafkaTestClient/produce(_:topic:partition:count:timestamp:)`` with the fixture's producer.
    package func produce(topic: String, partition: Int32, count: Int, timestamp: (Int) -> Int64? = { _ in nil }) async throws {
        try await KafkaTestClient.produce(producer, topic: topic, partition: partition, count: count, timestamp: timestamp)
    }

    package func member(group: String) throws -> KafkaConsumer {
        try client.member(group: group)
    }

    package func joinedMember(group: String, topic: String, partitions: Int, timeout: Duration = .seconds(30)) async throws -> KafkaConsumer {
        try await client.joinedMember(group: group, topic: topic, partitions: partitions, timeout: timeout)
    }

    package func commitAsRelay(group: String, topic: String, partitions: Int, offsets: [Int32: Int64]) async throws {
        try await client.commitAsRelay(group: group, topic: topic, partitions: partitions, offsets: offsets)
    }

    /// ``KafkaTestClient/readAll(topic:count:timeout:settle:)``, waiting half a second more for duplicates.
    package func readAll(topic: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        try await client.readAll(topic: topic, count: count, timeout: timeout, settle: .milliseconds(500))
    }

    /// A one-broker mock cluster with one single-partition topic holding `count` records "r0", "r1", ….
    package static func clusterWithRecords(_ prefix: String, count: Int) async throws -> (KafkaMockCluster, KafkaTopicPartition) {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName(prefix)
        try cluster.createTopic(topic, partitions: 1)
        let producer = try cluster.testClient.producer()
        for index in 0..<count {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, value: Array("r\(index)".utf8)))
        }
        await producer.close()
        return (cluster, KafkaTopicPartition(topic: topic, partition: 0))
    }
}

extension KafkaMockCluster {
    /// A ``KafkaTestClient`` for this cluster.
    package var testClient: KafkaTestClient { KafkaTestClient(bootstrapServers: bootstrapServers) }
}
