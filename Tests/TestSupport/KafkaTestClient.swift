import Foundation
import Kafka
import Logging

/// The tests' own Kafka client (our `Kafka` module, in the test process) for a cluster given by its
/// bootstrap list: a `dev-broker` child process or an in-process ``KafkaFixture``. It writes test
/// records, joins groups the way a relay does, reads topics back, and reads committed offsets and
/// watermarks.
package struct KafkaTestClient: Sendable {
    package let bootstrapServers: String
    package let logger: Logger

    /// The logger of every Kafka test client (``TestLogging``). With `KAFKA_LEAK_CHECK=1`
    /// (scripts/leak-check.sh) it also reports at exit whether every librdkafka handle was destroyed: a
    /// handle kept alive by its own threads is reachable, so LeakSanitizer cannot see it.
    package static let logger: Logger = {
        if ProcessInfo.processInfo.environment["KAFKA_LEAK_CHECK"] == "1" {
            atexit {
                let clean = KafkaDiagnostics.waitForAllClientsDestroyed(timeout: .seconds(10))
                FileHandle.standardError.write(Data((clean ? "KAFKA-HANDLES: all destroyed\n" : "KAFKA-HANDLES: OUTSTANDING\n").utf8))
            }
        }
        return TestLogging.logger("kafka-tests")
    }()

    package init(bootstrapServers: String, logger: Logger = KafkaTestClient.logger) {
        self.bootstrapServers = bootstrapServers
        self.logger = logger
    }

    // MARK: - Producing

    /// A producer with a 1 ms linger (tests write few records and wait for each).
    package func producer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        configuration.linger = .milliseconds(1)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    /// Produces the records; each key's records one after the other (so per-key order holds), different
    /// keys concurrently (``KafkaProducer/sendInKeyOrder(_:)``).
    package func produce(_ records: [KafkaProducerRecord]) async throws {
        let producer = try producer()
        do {
            try await producer.sendInKeyOrder(records)
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    /// Writes `count` records to the partition with `producer`, in order: key `k<i>`, value
    /// `p<partition>-<i>`, create time `timestamp(i)`.
    package static func produce(
        _ producer: KafkaProducer,
        topic: String,
        partition: Int32,
        count: Int,
        timestamp: (Int) -> Int64? = { _ in nil }
    ) async throws {
        for index in 0..<count {
            let record = KafkaProducerRecord(
                topic: topic, partition: partition, key: Array("k\(index)".utf8),
                value: Array("p\(partition)-\(index)".utf8), timestamp: timestamp(index)
            )
            _ = try await producer.send(record)
        }
    }

    // MARK: - Group members

    /// A relay-like member's configuration with group timing short enough for tests (a dead member
    /// stalls the next rebalance for its whole session timeout).
    package func consumerConfiguration(group: String, strategy: String = "cooperative-sticky") -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group)
        configuration.assignmentStrategy = strategy
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        if let debug = TestLogging.kafkaDebugContexts {
            configuration.additionalProperties["debug"] = debug
        }
        return configuration
    }

    /// A relay-like member of `group` (not subscribed yet).
    package func member(group: String, rebalanceHandler: (any KafkaRebalanceHandler)? = nil) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger, rebalanceHandler: rebalanceHandler)
    }

    /// Joins `group`, polls until it holds `partitions` partitions of `topic`, and returns the member
    /// (still in the group; records it read are discarded).
    package func joinedMember(group: String, topic: String, partitions: Int, timeout: Duration = .seconds(30)) async throws -> KafkaConsumer {
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
    package func commitAsRelay(group: String, topic: String, partitions: Int, offsets: [Int32: Int64]) async throws {
        let consumer = try await joinedMember(group: group, topic: topic, partitions: partitions)
        var commit: [KafkaTopicPartition: Int64] = [:]
        for (partition, offset) in offsets { commit[KafkaTopicPartition(topic: topic, partition: partition)] = offset }
        try await consumer.commit(commit)
        try await consumer.close()
    }

    /// Polls until `count` messages arrived (or `limit` passed) and returns them.
    package static func poll(_ consumer: KafkaConsumer, count: Int, within limit: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now.advanced(by: limit)
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        return messages
    }

    /// Polls every consumer (discarding messages) until `condition` holds or `limit` passed. Returns whether it held.
    package static func poll(
        _ consumers: [KafkaConsumer],
        within limit: Duration = .seconds(40),
        until condition: () throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for consumer in consumers {
                    group.addTask { _ = try await consumer.poll(maxMessages: 100, timeout: .milliseconds(200)) }
                }
                try await group.waitForAll()
            }
        }
        return try condition()
    }

    // MARK: - Reading back

    package func partitions(of topic: String) async throws -> [KafkaTopicPartition] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        return try await admin.partitions(topic: topic, timeout: .seconds(10)).map { KafkaTopicPartition(topic: topic, partition: $0) }
    }

    /// High watermark (end offset) per partition.
    package func endOffsets(of topic: String) async throws -> [KafkaTopicPartition: Int64] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in try await admin.partitions(topic: topic, timeout: .seconds(10)) {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            result[tp] = try await admin.watermarks(tp, timeout: .seconds(10)).high
        }
        return result
    }

    /// Records in the topic (sum of high − low over its partitions).
    package func recordCount(of topic: String) async throws -> Int64 {
        try await KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger).storedRecords(in: topic, timeout: .seconds(10))
    }

    /// The group's committed offsets for the topic's partitions (partitions without one are absent).
    package func committedOffsets(group: String, topic: String) async throws -> [KafkaTopicPartition: Int64] {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        let partitions = try await partitions(of: topic)
        return try await admin.committedOffsets(group: group, partitions: partitions, timeout: .seconds(10))
    }

    /// The group's committed offset and metadata in one partition (nil: none), read without joining.
    package func committedWithMetadata(group: String, partition: KafkaTopicPartition) async throws -> KafkaOffsetCommit? {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, logger: logger)
        let committed = try await admin.committedOffsetsWithMetadata(group: group, partitions: [partition], timeout: .seconds(10))
        return committed[partition].flatMap { $0.offset >= 0 ? $0 : nil }
    }

    /// Reads every record of `topic` as a fresh consumer group: waits until `count` records arrived (the
    /// caller knows the count from the watermarks), at most `timeout`; then polls `settle` longer, so a
    /// duplicate would show up too.
    package func readAll(topic: String, count: Int, timeout: Duration = .seconds(30), settle: Duration = .zero) async throws -> [KafkaMessage] {
        guard count > 0 else { return [] }
        let consumer = try member(group: uniqueName("reader"))
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 500, timeout: .milliseconds(200))
        }
        if settle > .zero {
            messages += try await consumer.poll(maxMessages: 500, timeout: settle)
        }
        try? await consumer.close()
        return messages
    }
}

extension KafkaMessage {
    /// The value of the last header named `key`, as a string.
    package func header(_ key: String) -> String? {
        headers.last { $0.key == key }?.value.map { String(decoding: $0, as: UTF8.self) }
    }

    package var valueText: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    package var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// `string` as UTF-8 bytes (record keys and values).
package func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

extension Array where Element == UInt8 {
    /// The bytes as UTF-8 text.
    package var text: String { String(decoding: self, as: UTF8.self) }
}
