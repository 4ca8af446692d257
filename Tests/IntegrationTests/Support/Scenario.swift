import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The usual end-to-end set-up and its checks in one value: a fresh topic and its dead-letter topic, a
/// group name, a dev-broker process holding both topics, a June stub and a Kafka client of the broker.
/// Relays started through it point at that broker, topic, group and stub; its checks read the same.
struct Scenario: Sendable {
    let h: Harness
    let topic: String
    /// The dead-letter topic: `<topic>.dlq`, as `june-relay run` names it by default.
    var dlq: String { topic + ".dlq" }
    let group: String
    /// The dev-broker process, for tests that signal it (SIGSTOP, SIGKILL).
    let broker: ChildProcess
    let brokers: String
    let stub: StubClient
    let kafka: KafkaTestClient

    /// Starts the broker (`partitions` partitions in both topics) and a stub launched with
    /// `stubArguments` (`--latency-ms`, `--fail-rate`, …).
    static func start(_ h: Harness, partitions: Int = 4, stub stubArguments: [String] = []) async throws -> Scenario {
        let topic = uniqueName("events")
        let (broker, brokers) = try await h.startBrokerProcess(topics: [topic, topic + ".dlq"], partitions: partitions)
        return try await sharing(h, broker: broker, brokers: brokers, topic: topic, stub: stubArguments)
    }

    /// A scenario on a broker started beforehand that holds `topic` and `<topic>.dlq` (several scenarios
    /// at once on one broker): its own group name, June stub and Kafka client.
    static func sharing(
        _ h: Harness, broker: ChildProcess, brokers: String, topic: String, stub stubArguments: [String] = []
    ) async throws -> Scenario {
        let stub = try await h.startStub(stubArguments)
        return Scenario(
            h: h, topic: topic, group: uniqueName("relay"), broker: broker, brokers: brokers, stub: stub,
            kafka: KafkaTestClient(bootstrapServers: brokers)
        )
    }

    /// `june-relay run` against this scenario's broker, topic, group and stub.
    func startRelay(
        _ name: String = "relay", writeKey: String, metricsPort: Int = 0, _ extraArguments: [String] = []
    ) throws -> ChildProcess {
        try h.startRelay(
            name: name, brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: writeKey,
            metricsPort: metricsPort, extraArguments: extraArguments
        )
    }

    /// Produces `events`' records (in order per partition).
    func produce(_ events: TestEvents) async throws {
        try await kafka.produce(events.records)
    }

    /// Waits until the stub accepted `count` distinct events; returns its stats then.
    @discardableResult
    func waitForAccepted(_ count: Int, timeout: Duration) async throws -> StubStats {
        try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: count, timeout: timeout)
    }

    /// Waits until the dead-letter topic holds `count` records.
    func waitForDeadLetters(_ count: Int, timeout: Duration) async throws {
        try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: count, timeout: timeout)
    }

    /// The group's committed offsets equal the topic's end offsets.
    func checkNoLag() async throws {
        try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
    }

    /// The dead-letter topic is empty and the group has no lag.
    func checkNothingDeadLetteredAndNoLag() async throws {
        try await checkNothingDeadLettered()
        try await checkNoLag()
    }

    /// The usual end: stops `relays` gracefully, checks every deliverable event was accepted in per-user
    /// order (once each when `noDuplicates`), nothing was dead-lettered and the group has no lag.
    @discardableResult
    func verifyCleanFinish(stopping relays: [ChildProcess], deliverable: Int, noDuplicates: Bool = true) async throws -> StubStats {
        let stats = try await stopAndCheckDelivered(relays, deliverable: deliverable, noDuplicates: noDuplicates)
        try await checkNothingDeadLetteredAndNoLag()
        return stats
    }
}
