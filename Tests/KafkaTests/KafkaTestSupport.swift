import Foundation
import Kafka
import Logging
import Synchronization

/// Helpers shared by the Kafka tests: each test starts its own mock cluster and uses unique names.
enum KafkaTestSupport {
    static let logger: Logger = {
        installHandleCheckAtExit()
        var logger = Logger(label: "kafka-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["KAFKA_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return logger
    }()

    /// With `KAFKA_LEAK_CHECK=1` (scripts/leak-check.sh), reports at exit whether every librdkafka handle
    /// was destroyed: a handle kept alive by its own threads is reachable, so LeakSanitizer cannot see it.
    private static func installHandleCheckAtExit() {
        guard ProcessInfo.processInfo.environment["KAFKA_LEAK_CHECK"] == "1" else { return }
        atexit {
            let clean = KafkaDiagnostics.waitForAllClientsDestroyed(timeout: .seconds(10))
            FileHandle.standardError.write(Data((clean ? "KAFKA-HANDLES: all destroyed\n" : "KAFKA-HANDLES: OUTSTANDING\n").utf8))
        }
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Group timing short enough for tests (see docs/dev-broker.md).
    static func consumerConfiguration(_ cluster: KafkaMockCluster, group: String, strategy: String = "cooperative-sticky") -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
        configuration.assignmentStrategy = strategy
        configuration.additionalProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        return configuration
    }

    static func producer(_ cluster: KafkaMockCluster) throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
    }

    static func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// A one-broker mock cluster with one single-partition topic holding `count` records "r0", "r1", ….
    static func clusterWithRecords(_ prefix: String, count: Int) async throws -> (KafkaMockCluster, KafkaTopicPartition) {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        let topic = uniqueName(prefix)
        try cluster.createTopic(topic, partitions: 1)
        let producer = try producer(cluster)
        for index in 0..<count {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, value: bytes("r\(index)")))
        }
        await producer.close()
        return (cluster, KafkaTopicPartition(topic: topic, partition: 0))
    }

    /// Polls until `count` messages arrived (or the deadline passed) and returns them.
    static func poll(_ consumer: KafkaConsumer, count: Int, within limit: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now.advanced(by: limit)
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        return messages
    }

    /// Polls (collecting messages) until `condition` holds or the deadline passed. Returns whether it held.
    static func poll(
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
}

/// Records rebalance events; optionally pauses what it is assigned.
final class RecordingRebalanceHandler: KafkaRebalanceHandler {
    enum Event: Equatable, Sendable {
        case assigned([KafkaTopicPartition])
        case revoked([KafkaTopicPartition])
    }

    private let recorded = Mutex<[Event]>([])
    private let commitErrors = Mutex<[KafkaError]>([])
    private let pauseOnAssign: Set<KafkaTopicPartition>
    private let commitOnRevoke: Int64?

    /// - Parameter commitOnRevoke: commit this offset for every revoked partition, from inside the callback.
    init(pauseOnAssign: Set<KafkaTopicPartition> = [], commitOnRevoke: Int64? = nil) {
        self.pauseOnAssign = pauseOnAssign
        self.commitOnRevoke = commitOnRevoke
    }

    var errors: [KafkaError] { commitErrors.withLock { $0 } }

    var events: [Event] { recorded.withLock { $0 } }

    var revokedPartitions: [KafkaTopicPartition] {
        events.flatMap { event -> [KafkaTopicPartition] in
            if case .revoked(let partitions) = event { return partitions }
            return []
        }
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        let toPause = partitions.filter { pauseOnAssign.contains($0) }
        try? consumer.pause(toPause)
        recorded.withLock { $0.append(.assigned(partitions.sorted())) }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        if let offset = commitOnRevoke {
            do throws(KafkaError) {
                try consumer.commitSync(Dictionary(uniqueKeysWithValues: partitions.map { ($0, offset) }))
            } catch {
                commitErrors.withLock { $0.append(error) }
            }
        }
        recorded.withLock { $0.append(.revoked(partitions.sorted())) }
    }
}
