import Foundation
import Kafka
import Testing

/// Steps the end-to-end scenarios share beyond ``Scenario``'s set-up and clean finish: producing a
/// plain stream, a relay with its metrics client, and the ends of scenarios that dead-letter events
/// or are judged without a lag check.
extension Scenario {
    /// Produces `count` valid events spread round-robin over `users` users (`user-0`, `user-1`, …);
    /// returns them.
    @discardableResult
    func produceValid(_ count: Int, users: Int) async throws -> TestEvents {
        var events = TestEvents(topic: topic)
        for index in 0..<count { events.valid(user: "user-\(index % users)") }
        try await produce(events)
        return events
    }

    /// ``startRelay(_:writeKey:metricsPort:_:)`` on a free metrics port; returns the relay and a client of
    /// its metrics server.
    func startRelayWithMetrics(
        _ name: String = "relay", writeKey: String, _ extraArguments: [String] = []
    ) throws -> (relay: ChildProcess, metrics: MetricsClient) {
        let port = try Harness.freePort()
        let relay = try startRelay(name, writeKey: writeKey, metricsPort: port, extraArguments)
        return (relay, MetricsClient(port: port))
    }

    /// Stops `relays` gracefully one after the other (each must exit 0) and checks the stub accepted
    /// every deliverable event in per-user order, once each when `noDuplicates`; returns the stub's stats
    /// for further checks.
    @discardableResult
    func stopAndCheckDelivered(_ relays: [ChildProcess], deliverable: Int, noDuplicates: Bool = true) async throws -> StubStats {
        for relay in relays { try await RelayChecks.stopGracefully(h, relay) }
        let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: deliverable)
        if noDuplicates { h.check(stats.duplicates == 0, "duplicates: \(stats)") }
        return stats
    }

    /// ``DeadLetterChecks/verify(_:kafka:dlqTopic:sourceTopic:expected:originalTimestamp:testStarted:)`` of
    /// this scenario's topics: the dead-letter topic holds exactly `expected`, each with the right headers.
    /// Returns the dead-letter records by `e2e-id`.
    @discardableResult
    func verifyDeadLetters(
        _ expected: [TestEvents.Invalid], of events: TestEvents, testStarted: Date
    ) async throws -> [String: KafkaMessage] {
        try await DeadLetterChecks.verify(
            h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: expected,
            originalTimestamp: events.timestamp, testStarted: testStarted
        )
    }

    /// Checks the dead-letter topic is empty (`why` ends the message, e.g. " for a refused key").
    func checkNothingDeadLettered(_ why: String = "") async throws {
        let dead = try await kafka.recordCount(of: dlq)
        h.check(dead == 0, "\(dead) events dead-lettered\(why)")
    }

    /// Waits up to `timeout` for the stub to accept `count` distinct events and checks (without
    /// stopping the test) that it did; `what` starts the message.
    func checkEventuallyAccepted(_ count: Int, timeout: Duration, _ what: String) async throws {
        let reached = try await eventually(timeout: timeout) { try await stub.stats().uniqueAccepted >= count }
        let stats = try await stub.stats()
        h.check(reached, "\(what): \(stats)")
    }

    /// The end of a scenario judged without a lag check: every deliverable event accepted in per-user
    /// order, nothing dead-lettered, then `relay` stopped gracefully.
    func finishWithoutDeadLetters(stopping relay: ChildProcess, deliverable: Int) async throws {
        _ = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: deliverable)
        try await checkNothingDeadLettered()
        try await RelayChecks.stopGracefully(h, relay)
    }
}
