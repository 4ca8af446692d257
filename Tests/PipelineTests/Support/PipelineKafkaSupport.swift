import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Pipeline

/// In-process pipeline tests: a librdkafka mock cluster (the same one `june-relay dev-broker` runs), real
/// consumers and producers, and a scripted stand-in for June. Each test starts its own cluster and uses
/// unique names.
enum PipelineKafkaSupport {
    static let logger = TestLogging.logger("pipeline-tests")

    /// A one-broker mock cluster with a fresh topic of `partitions` partitions, and a fresh group name.
    static func cluster(topic prefix: String, partitions: Int) throws -> (cluster: KafkaMockCluster, topic: String, group: String) {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        let topic = uniqueName(prefix)
        try cluster.createTopic(topic, partitions: partitions)
        return (cluster, topic, uniqueName("g"))
    }

    /// Group timing short enough for tests: a member that leaves is noticed within seconds.
    static func consumerConfiguration(_ cluster: KafkaMockCluster, group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
        configuration.additionalProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        if let debug = TestLogging.kafkaDebugContexts {
            configuration.additionalProperties["debug"] = debug
        }
        return configuration
    }

    static func producerConfiguration(_ cluster: KafkaMockCluster) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.linger = .milliseconds(1)
        return configuration
    }

    /// Settings that make a pipeline react within tenths of a second.
    static func pipelineConfiguration(topic: String, deadLetterTopic: String) -> PipelineConfiguration {
        var configuration = PipelineConfiguration(topics: [topic], deadLetterTopic: deadLetterTopic)
        configuration.commitInterval = .milliseconds(200)
        configuration.pollTimeout = .milliseconds(50)
        configuration.drainTimeout = .seconds(5)
        configuration.maxInFlight = 16
        configuration.retryPolicy = RetryPolicy(initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))
        configuration.outageThreshold = 1_000
        return configuration
    }

    /// A pipeline whose dead-letter producer factory makes real producers.
    static func pipeline(
        _ cluster: KafkaMockCluster,
        group: String,
        configuration: PipelineConfiguration,
        sender: any JuneSending
    ) throws -> Pipeline {
        let producerConfiguration = producerConfiguration(cluster)
        let logger = logger
        let deadLetters = try DeadLetterProducer { () throws(KafkaError) -> KafkaProducer in
            try KafkaProducer(configuration: producerConfiguration, logger: logger)
        }
        return try Pipeline(
            configuration: configuration,
            consumerConfiguration: consumerConfiguration(cluster, group: group),
            deadLetters: deadLetters,
            sender: sender,
            logger: logger
        )
    }

    /// A pipeline whose June (`ScriptedSender` `name`, calls in `log`) answers every request of the user
    /// "stuck" with 503 and everyone else's with 200.
    static func pipelineWithAStuckUser(
        _ cluster: KafkaMockCluster,
        group: String,
        configuration: PipelineConfiguration,
        log: CallLog,
        name: String = "A"
    ) throws -> Pipeline {
        try pipeline(
            cluster, group: group, configuration: configuration,
            sender: ScriptedSender(name: name, log: log) { _, user, _ in
                user == "stuck" ? .retryable(status: 503, retryAfter: nil, message: "HTTP 503: down for this user") : .delivered(status: 200)
            }
        )
    }

    /// A valid RudderStack track event of `user`, named so the June body tells which record it was.
    static func event(user: String, tag: Int) -> [UInt8] {
        Array(#"{"type":"track","event":"ev\#(tag)x","userId":"\#(user)","originalTimestamp":"2022-01-20T13:39:21.032Z"}"#.utf8)
    }

    /// The tag `event(user:tag:)` put into a June body (nil for probes and other bodies).
    static func tag(of request: JuneRequest) -> Int? {
        let body = String(decoding: request.body, as: UTF8.self)
        guard let match = body.firstMatch(of: /ev([0-9]+)x/) else { return nil }
        return Int(match.1)
    }

    static func produce(_ cluster: KafkaMockCluster, topic: String, partition: Int32? = nil, values: [[UInt8]]) async throws {
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        for value in values {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: partition, value: value))
        }
        await producer.close()
    }

    /// Events `tags` in each of the first `partitions` partitions: event `i` of partition `p` has the tag
    /// `p * 10 + i` and the user `user(p, i)`.
    static func produce(
        _ cluster: KafkaMockCluster,
        topic: String,
        partitions: Int32,
        tags: Range<Int>,
        user: (_ partition: Int32, _ index: Int) -> String
    ) async throws {
        for partition in Int32(0)..<partitions {
            let values = tags.map { event(user: user(partition, $0), tag: Int(partition) * 10 + $0) }
            try await produce(cluster, topic: topic, partition: partition, values: values)
        }
    }

    /// Reads the whole topic with a consumer of its own group, until `count` records arrived or `limit` passed.
    static func readAll(_ cluster: KafkaMockCluster, topic: String, count: Int, within limit: Duration = .seconds(15)) async throws -> [KafkaMessage]
    {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: uniqueName("reader")), logger: logger)
        try consumer.subscribe(topics: [topic])
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + limit
        while messages.count < count, ContinuousClock.now < deadline {
            messages += try await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        try await consumer.close()
        return messages
    }

    /// The group's committed offset and metadata, read by a consumer that does not join the group.
    static func committed(_ cluster: KafkaMockCluster, group: String, partition: KafkaTopicPartition) async throws -> KafkaOffsetCommit? {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: group), logger: logger)
        let result = try await consumer.committedWithMetadata([partition], timeout: .seconds(5))[partition]
        try await consumer.close()
        return result
    }

    /// The group's committed offset of each of `partitions`, in their order (nil: none).
    static func committedOffsets(_ cluster: KafkaMockCluster, group: String, partitions: [KafkaTopicPartition]) async throws -> [Int64?] {
        var offsets: [Int64?] = []
        for partition in partitions {
            offsets.append(try await committed(cluster, group: group, partition: partition)?.offset)
        }
        return offsets
    }

    /// Waits until the group's committed offsets of `partitions` are `expected`, reading them every 100 ms,
    /// at most `limit`. Returns whether they were.
    static func waitForCommits(
        _ cluster: KafkaMockCluster,
        group: String,
        partitions: [KafkaTopicPartition],
        toBe expected: [Int64?],
        within limit: Duration
    ) async throws -> Bool {
        var reached = false
        let deadline = ContinuousClock.now + limit
        while !reached, ContinuousClock.now < deadline {
            reached = try await committedOffsets(cluster, group: group, partitions: partitions) == expected
            try await Task.sleep(for: .milliseconds(100))
        }
        return reached
    }

    /// Waits until `condition` holds, checking every 50 ms, at most `limit`. Returns whether it held.
    static func wait(within limit: Duration, until condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}

/// A stand-in for June: answers each request as a script says, and logs every call with its timing.
final class ScriptedSender: JuneSending {
    struct Call: Sendable {
        var sender: String
        var user: String?
        var tag: Int?
        var started: ContinuousClock.Instant
        var ended: ContinuousClock.Instant?
        var outcome: SendOutcome?
    }

    /// Decides the outcome (and may delay it) from the request, its user and the user's attempt number
    /// at this sender (0 = first).
    typealias Script = @Sendable (_ request: JuneRequest, _ user: String?, _ attempt: Int) async -> SendOutcome

    let name: String
    let log: CallLog
    private let script: Script
    private let attempts = Mutex<[String: Int]>([:])

    init(name: String, log: CallLog, script: @escaping Script) {
        self.name = name
        self.log = log
        self.script = script
    }

    func send(_ request: JuneRequest) async -> SendOutcome {
        let user = request.orderingKey
        let attempt =
            user.map { user in
                attempts.withLock { counts in
                    defer { counts[user, default: 0] += 1 }
                    return counts[user, default: 0]
                }
            } ?? 0
        let index = log.begin(Call(sender: name, user: user, tag: PipelineKafkaSupport.tag(of: request), started: .now))
        let outcome = await script(request, user, attempt)
        log.end(index, outcome: outcome)
        return outcome
    }

    /// These tests run single delivery (probes included): a batch here is a pipeline bug.
    func send(batch: [JuneBatchItem]) async -> SendOutcome {
        Issue.record("unexpected batch of \(batch.count) items in single delivery")
        return .retryable(status: nil, retryAfter: nil, message: "unexpected batch")
    }
}

extension ScriptedSender {
    /// A June that takes every request (200).
    static func deliveringEverything(_ name: String, log: CallLog) -> ScriptedSender {
        ScriptedSender(name: name, log: log) { _, _, _ in .delivered(status: 200) }
    }
}

/// Calls of one or more `ScriptedSender`s, in the order they started.
final class CallLog: Sendable {
    private let calls = Mutex<[ScriptedSender.Call]>([])

    func begin(_ call: ScriptedSender.Call) -> Int {
        calls.withLock { calls in
            calls.append(call)
            return calls.count - 1
        }
    }

    func end(_ index: Int, outcome: SendOutcome) {
        calls.withLock { calls in
            calls[index].ended = .now
            calls[index].outcome = outcome
        }
    }

    var all: [ScriptedSender.Call] { calls.withLock { $0 } }

    /// One line per call, with times relative to the first call: for failure messages.
    var summary: String {
        let calls = all
        guard let origin = calls.first?.started else { return "no calls" }
        func ms(_ instant: ContinuousClock.Instant?) -> String {
            instant.map { "\(($0 - origin).components.seconds * 1000 + ($0 - origin).components.attoseconds / 1_000_000_000_000_000)" } ?? "-"
        }
        return calls.map { call in
            "\(call.sender) \(call.user ?? "probe") #\(call.tag.map(String.init) ?? "-") \(ms(call.started))..\(ms(call.ended)) ms"
        }.joined(separator: "; ")
    }

    /// Event calls (not probes) of `sender` (nil: any), optionally of one user.
    func events(sender: String? = nil, user: String? = nil) -> [ScriptedSender.Call] {
        all.filter { call in
            call.tag != nil && (sender == nil || call.sender == sender) && (user == nil || call.user == user)
        }
    }
}
