import Foundation
import Kafka
import Testing

/// A June that rejects everything is refusing the relay, not judging its events: 410 Gone is a refusal
/// (nothing dead-lettered), and 400 to every event of many users is a rejection storm, of which at most
/// the first window is dead-lettered. Either way the relay pauses, says why, probes, and resumes by
/// itself once June accepts again.
@Suite("june-relay June rejecting everything", .serialized)
struct RejectEverythingTests {
    static let users = 100
    static let eventCount = 2_000

    /// Waits for `/status` to say the relay is refused for `reason`; returns the last status read.
    static func waitForRefusal(_ h: Harness, _ metrics: MetricsClient, reason: String) async throws -> RelayStatus? {
        var last: RelayStatus?
        _ = try await eventually(timeout: .seconds(30)) {
            last = try? await metrics.status()
            return last?.mode == "refused" && last?.refusedReason == reason
        }
        h.check(
            last?.mode == "refused" && last?.refusedReason == reason,
            "/status: \(last.map(String.init(describing:)) ?? "unreadable"), expected refused for \(reason)")
        return last
    }

    @Test(.timeLimit(.minutes(3)), arguments: [410, 400])
    func rejectingEverythingPausesAndResumes(status: Int) async throws {
        try await Harness.run("reject-everything-\(status)") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "2"])
            try await s.stub.answerEverything(status: status)
            let events = try await s.produceValid(Self.eventCount, users: Self.users)
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-reject")
            let reason = status == 410 ? "HTTP 410" : "rejecting-all"
            _ = try await Self.waitForRefusal(h, metrics, reason: reason)
            let gauge = try await metrics.value("relay_june_refused", labels: ["status": status == 410 ? "410" : "rejecting-all"])
            h.check(gauge == 1, "relay_june_refused for \(reason): \(gauge.map { "\($0)" } ?? "absent")")
            // Paused: a few seconds later no more dead letters, and nothing accepted.
            try await Task.sleep(for: .seconds(5))
            let deadWhilePaused = try await s.kafka.recordCount(of: s.dlq)
            let limit = status == 410 ? 0 : Int64(50)
            h.check(deadWhilePaused <= limit, "\(deadWhilePaused) events dead-lettered while June rejected everything (at most \(limit))")
            let paused = try await s.stub.stats()
            print("June answering \(status) to everything: \(deadWhilePaused) dead letters, \(paused)")
            h.check(paused.requests < events.records.count / 2, "the relay kept sending at full speed: \(paused)")

            try await s.stub.answerEverything(status: 0)
            let stats = try await s.waitForAccepted(events.deliverable - Int(deadWhilePaused), timeout: .seconds(60))
            h.check(stats.orderViolations == 0, "order violations: \(stats)")
            let dead = try await s.kafka.recordCount(of: s.dlq)
            h.check(dead == deadWhilePaused, "dead letters after June accepted again: \(dead), before \(deadWhilePaused)")
            let resumed = try await metrics.status()
            h.check(resumed.mode == "running", "/status after June accepts again: \(resumed)")
            try await RelayChecks.stopGracefully(h, relay)
            try await s.checkNoLag()
        }
    }
}
