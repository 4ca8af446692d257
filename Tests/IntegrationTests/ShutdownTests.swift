import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM ends the relay with exit 0 within the drain timeout plus a bounded close, whatever June or
/// Kafka are doing (docs/operations.md: the grace period is sized from the drain timeout).
@Suite("june-relay shutdown", .serialized)
struct ShutdownTests {
    static let drainTimeout = 5
    /// The acceptance bound: drain timeout + 20 s.
    static var exitBound: Duration { .seconds(drainTimeout + 20) }
    static let drainFlags = ["--drain-timeout", String(drainTimeout), "--request-timeout", String(drainTimeout)]

    /// Sends SIGTERM and checks that the relay exits 0 within `exitBound`.
    static func terminateWithinBound(_ h: Harness, _ relay: ChildProcess, _ label: String, note: String = "") async throws {
        let begin = ContinuousClock.now
        relay.signal(SIGTERM)
        let code = try await relay.waitForExit(timeout: exitBound)
        let took = ContinuousClock.now - begin
        print("\(label): exit \(code.map(String.init) ?? "none") after \(took)\(note.isEmpty ? "" : "; " + note)")
        h.check(code == 0, "exit code after SIGTERM: \(code.map(String.init) ?? "still running after \(exitBound)")")
        h.check(took < exitBound, "SIGTERM took \(took)")
    }

    @Test(.timeLimit(.minutes(2)))
    func sigtermWhileJuneHangsExitsZeroInTime() async throws {
        try await Harness.run("sigterm-june-hangs") { h in
            let topic = uniqueName("events")
            let dlq = topic + ".dlq"
            let brokers = try await h.startBroker(topics: [topic, dlq])
            // June takes a minute to answer: every request is still in flight at SIGTERM.
            let stub = try await h.startStub(["--latency-ms", "60000"])
            let kafka = KafkaTestClient(bootstrapServers: brokers)
            var events = TestEvents(topic: topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: uniqueName("relay"), juneURL: stub.baseURL, writeKey: "k-hang",
                extraArguments: Self.drainFlags + RelayChecks.fastGroupFlags
            )
            var stats = try await stub.stats()
            let sending = try await eventually(timeout: .seconds(30)) {
                stats = try await stub.stats()
                return stats.requests >= 5
            }
            try h.require(sending, "the relay sent no requests to the hanging June: \(stats)")
            try h.require(relay.isRunning, "relay exited early")

            try await Self.terminateWithinBound(h, relay, "sigterm while June hangs", note: "\(stats.requests) requests hanging")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func sigtermWhileKafkaIsUnreachableExitsZeroInTime() async throws {
        try await Harness.run("sigterm-kafka-down") { h in
            let (topic, _, group, broker, brokers, stub, kafka) = try await h.scenarioWithBrokerProcess(["--latency-ms", "20"])
            var events = TestEvents(topic: topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(events.records)

            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-kafka-down",
                metricsPort: port, extraArguments: Self.drainFlags + RelayChecks.fastGroupFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 50, timeout: .seconds(60))
            let ready = try await eventually(timeout: .seconds(20)) { (try? await metrics.readyzStatus()) == 200 }
            try h.require(ready, "the relay never became ready")

            // Every broker of the cluster is in the one dev-broker process: kill it.
            broker.signal(SIGKILL)
            let brokerGone = try await broker.waitForExit(timeout: .seconds(10))
            try h.require(brokerGone != nil, "dev-broker still running after SIGKILL")
            try await Task.sleep(for: .seconds(1))
            try h.require(relay.isRunning, "relay exited when the broker died (exit \(relay.exitCode ?? -1))")

            try await Self.terminateWithinBound(h, relay, "sigterm with Kafka unreachable")
        }
    }
}
