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
            // June takes a minute to answer: every request is still in flight at SIGTERM.
            let s = try await Scenario.start(h, stub: ["--latency-ms", "60000"])
            try await s.produceValid(200, users: 20)

            let relay = try s.startRelay(writeKey: "k-hang", Self.drainFlags + RelayChecks.fastGroupFlags)
            var stats = try await s.stub.stats()
            let sending = try await eventually(timeout: .seconds(30)) {
                stats = try await s.stub.stats()
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
            let s = try await Scenario.start(h, stub: ["--latency-ms", "20"])
            let broker = s.broker
            try await s.produceValid(200, users: 20)

            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-kafka-down", Self.drainFlags + RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(50, timeout: .seconds(60))
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
