import Foundation
import Kafka
import Testing
import TestSupport

@Suite struct KafkaAdminTests {
    @Test func missingTopicIsReportedAndNotCreated() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let existing = uniqueName("exists")
        try cluster.createTopic(existing, partitions: 3)
        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestClient.logger)
        let missing = uniqueName("missing")

        #expect(try await admin.topicExists(existing, timeout: .seconds(5)))
        #expect(try await admin.partitions(topic: existing, timeout: .seconds(5)) == [0, 1, 2])
        #expect(try await admin.topicExists(missing, timeout: .seconds(5)) == false)
        let error = await #expect(throws: KafkaError.self) { _ = try await admin.partitions(topic: missing, timeout: .seconds(5)) }
        #expect(error?.message == "topic \(missing) does not exist")
        #expect(try await admin.topicExists(missing, timeout: .seconds(5)) == false, "asking must not auto-create")
    }

    @Test func offsetForTimestampFallsBackToSearchingRecords() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("times")
        try cluster.createTopic(topic, partitions: 1)
        let producer = try cluster.testClient.producer()
        let base: Int64 = 1_700_000_000_000
        for index in 0..<20 {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, value: [UInt8(index)], timestamp: base + Int64(index) * 1000))
        }
        await producer.close()
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestClient.logger)

        #expect(try await admin.watermarks(tp, timeout: .seconds(5)) == (0, 20))
        #expect(try await admin.offset(forTimestamp: base - 1, in: tp, timeout: .seconds(10)) == 0)
        #expect(try await admin.offset(forTimestamp: base, in: tp, timeout: .seconds(10)) == 0)
        #expect(try await admin.offset(forTimestamp: base + 3500, in: tp, timeout: .seconds(10)) == 4)
        #expect(try await admin.offset(forTimestamp: base + 5000, in: tp, timeout: .seconds(10)) == 5)
        #expect(try await admin.offset(forTimestamp: base + 19_000, in: tp, timeout: .seconds(10)) == 19)
        #expect(try await admin.offset(forTimestamp: base + 19_001, in: tp, timeout: .seconds(10)) == 20)

        let empty = uniqueName("empty")
        try cluster.createTopic(empty, partitions: 1)
        #expect(try await admin.offset(forTimestamp: base, in: KafkaTopicPartition(topic: empty, partition: 0), timeout: .seconds(5)) == 0)
    }

    @Test func commitAsGroupMemberMovesOffsetsAndIsRefusedWhileAMemberIsActive() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("reset")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try cluster.testClient.producer()
        for index in 0..<10 {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: Int32(index % 2), value: [UInt8(index)]))
        }
        await producer.close()
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let p1 = KafkaTopicPartition(topic: topic, partition: 1)
        let group = uniqueName("g")
        var adminProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, additionalProperties: adminProperties, logger: KafkaTestClient.logger)
        adminProperties = [:]

        // The group has had a member (so standalone commits would be refused by the mock).
        let member = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        try member.subscribe(topics: [topic])
        _ = try await KafkaTestClient.poll(member, count: 10)
        try await member.commit([p0: 5, p1: 5])
        try await member.close()

        try await admin.commitOffsetsAsGroupMember(group: group, topic: topic, offsets: [p0: 2, p1: 3], timeout: .seconds(20))
        #expect(try await admin.committedOffsets(group: group, partitions: [p0, p1], timeout: .seconds(5)) == [p0: 2, p1: 3])

        // Only one partition given: the other keeps its offset.
        try await admin.commitOffsetsAsGroupMember(group: group, topic: topic, offsets: [p1: 1], timeout: .seconds(20))
        #expect(try await admin.committedOffsets(group: group, partitions: [p0, p1], timeout: .seconds(5)) == [p0: 2, p1: 1])

        // An active member: refused, offsets unchanged.
        let active = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        try active.subscribe(topics: [topic])
        #expect(try await KafkaTestClient.poll([active]) { try active.assignment().count == 2 })
        let keepPolling = Task {
            while !Task.isCancelled { _ = try? await active.poll(maxMessages: 100, timeout: .milliseconds(100)) }
        }
        let error = await #expect(throws: KafkaError.self) {
            try await admin.commitOffsetsAsGroupMember(group: group, topic: topic, offsets: [p0: 0, p1: 0], timeout: .seconds(20))
        }
        #expect(error?.message.contains("active members") == true, "\(String(describing: error))")
        keepPolling.cancel()
        _ = await keepPolling.value
        #expect(try await admin.committedOffsets(group: group, partitions: [p0, p1], timeout: .seconds(5)) == [p0: 2, p1: 1])
        try await active.close()
    }
}
