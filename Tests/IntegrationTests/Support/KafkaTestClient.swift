import Foundation
import Kafka
import Logging

/// The test's own Kafka client (our `Kafka` module, in this process): writes the test events, reads the
/// dead-letter topic back, and reads committed offsets and watermarks.
struct KafkaTestClient: Sendable {
    let bootstrapServers: String
    let logger: Logger

    init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
        var logger = Logger(label: "e2e.kafka")
        logger.logLevel = .error
        self.logger = logger
    }

    /// Produces the records; each key's records one after the other (so per-key order holds), different
    /// keys concurrently.
    func produce(_ records: [KafkaProducerRecord]) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        configuration.linger = .milliseconds(1)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var byKey: [[UInt8]: [KafkaProducerRecord]] = [:]
        var keyOrder: [[UInt8]] = []
        for record in records {
            let key = record.key ?? []
            if byKey[key] == nil { keyOrder.append(key) }
            byKey[key, default: []].append(record)
        }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for key in keyOrder {
                    let batch = byKey[key] ?? []
                    group.addTask {
                        for record in batch { _ = try await producer.send(record) }
                    }
                }
            }
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    func partitions(of topic: String) async throws -> [KafkaTopicPartition] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        return try await admin.partitions(topic: topic, timeout: .seconds(10)).map { KafkaTopicPartition(topic: topic, partition: $0) }
    }

    /// High watermark (end offset) per partition.
    func endOffsets(of topic: String) async throws -> [KafkaTopicPartition: Int64] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in try await admin.partitions(topic: topic, timeout: .seconds(10)) {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            result[tp] = try await admin.watermarks(tp, timeout: .seconds(10)).high
        }
        return result
    }

    /// Records in the topic (sum of high − low over its partitions).
    func recordCount(of topic: String) async throws -> Int64 {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        var total: Int64 = 0
        for partition in try await admin.partitions(topic: topic, timeout: .seconds(10)) {
            let (low, high) = try await admin.watermarks(KafkaTopicPartition(topic: topic, partition: partition), timeout: .seconds(10))
            total += high - low
        }
        return total
    }

    /// The group's committed offsets for the topic's partitions (partitions without one are absent).
    func committedOffsets(group: String, topic: String) async throws -> [KafkaTopicPartition: Int64] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        let partitions = try await partitions(of: topic)
        return try await admin.committedOffsets(group: group, partitions: partitions, timeout: .seconds(10))
    }

    /// Reads every record of `topic` as a fresh consumer group: waits until `count` records arrived (the
    /// caller knows the count from the watermarks), at most `timeout`.
    func readAll(topic: String, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        guard count > 0 else { return [] }
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: uniqueName("e2e-reader"))
        configuration.autoOffsetReset = .earliest
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .seconds(1)
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
        }
        try? await consumer.close()
        return messages
    }
}

extension KafkaMessage {
    /// The value of the last header named `key`, as a string.
    func header(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}
