import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The batch-delivery scenarios in which June or the relay fails: a June outage, and a relay killed
/// with SIGKILL and restarted.
extension BatchDeliveryTests {
    // MARK: 5. June outage

    @Test(.timeLimit(.minutes(3)))
    func juneOutageInBatchModeLosesNothingAndDeadLettersNothing() async throws {
        try await Harness.run("batch-outage") { h in
            // 4 requests of at most 10 events per 100 ms: at most 400 events/s, so the outage starts mid-stream.
            let s = try await Scenario.start(h, stub: ["--latency-ms", "100"])

            var events = BatchEvents(topic: s.topic)
            for index in 0..<3_000 {
                events.valid(user: "user-\(index % 200)", messageID: index % 7 == 4 ? .absent : .own)
            }
            try await s.produce(events)
            let firstBatch = events.count

            let (relay, metrics) = try s.startRelayWithMetrics(
                writeKey: "k-batch-outage", Self.batchFlags + ["--max-in-flight", "4", "--batch-max-events", "10"])
            let atOutage = try await s.waitForAccepted(500, timeout: .seconds(60))
            try h.require(atOutage.uniqueAccepted < events.deliverable, "the stream ended before the outage: \(atOutage)")
            let outageSeconds = 15
            try await s.stub.startOutage(seconds: outageSeconds)
            let outageEnds = ContinuousClock.now + .seconds(outageSeconds)

            var gauge: Double?
            let detected = try await eventually(timeout: .seconds(12)) {
                gauge = try await metrics.value("relay_june_outage")
                return gauge == 1
            }
            try h.require(detected, "relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 12 s into the outage")
            // More events while June is down.
            for index in 0..<1_000 { events.valid(user: "user-\(index % 200)") }
            try await s.kafka.produce(Array(events.records[firstBatch...]))
            let duringOutage = try await s.stub.stats()
            h.check(ContinuousClock.now < outageEnds, "the test took too long to observe the outage")

            let final = try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            let recovered = try await eventually(timeout: .seconds(10)) { try await metrics.value("relay_june_outage") == 0 }
            h.check(recovered, "relay_june_outage did not return to 0")
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable, noDuplicates: false)
            print("batch-outage: at the outage \(atOutage.uniqueAccepted) delivered; probes during it \(duringOutage.probes ?? -1); final \(final)")
            Self.checkNoDuplicatesAndNoUserInTwoRequests(h, stats)
            h.check((stats.status["503"] ?? 0) > 0, "the relay never met the outage: \(stats)")
            h.check((stats.probes ?? 0) > 0, "the relay never probed June during the outage: \(stats)")
        }
    }

    // MARK: 6. kill -9 and restart

    /// The first relay of the kill -9 scenario is slow on purpose: every request takes at least the stub's
    /// latency, so it delivers at most maxInFlight × batchMaxEvents per latency (400 events/s).
    struct SlowRelay {
        let latencyMs = 100
        let maxInFlight = 4
        let batchMaxEvents = 10
        let commitInterval = 0.5

        var flags: [String] {
            [
                "--max-in-flight", String(maxInFlight), "--batch-max-events", String(batchMaxEvents),
                "--commit-interval", String(commitInterval),
            ]
        }

        /// Redelivered after the restart: only events June accepted that no commit recorded yet, i.e.
        /// those accepted since the last commit's snapshot (at most one commit interval plus the
        /// commit's own round trip, allowed 1 s) and those in flight at the kill. The first relay
        /// cannot deliver faster than maxInFlight × batchMaxEvents per stub latency.
        var redeliveryBound: Int {
            let maxRate = Double(maxInFlight * batchMaxEvents) * 1_000 / Double(latencyMs)
            return Int(maxRate * (commitInterval + 1.0)) + maxInFlight * batchMaxEvents
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func killedBatchRelayLosesNothingAndRedeliversOnlyWhatWasNotCommitted() async throws {
        try await Harness.run("batch-kill-9") { h in
            let slow = SlowRelay()
            let s = try await Scenario.start(h, stub: ["--latency-ms", String(slow.latencyMs)])

            var events = BatchEvents(topic: s.topic)
            for index in 0..<12_000 {
                // 40 users: their lanes progress side by side, so the offsets done above the committed
                // one form few ranges and all fit in the commit metadata (a spread of thousands of single
                // done offsets would not, and would be redelivered by design).
                events.valid(user: "user-\(index % 40)", messageID: index % 7 == 6 ? .absent : .own)
            }
            try await s.produce(events)

            let first = try s.startRelay("relay-killed", writeKey: "k-batch-kill", Self.batchFlags + RelayChecks.fastGroupFlags + slow.flags)
            let atKill = try await Self.killOnceCommitting(s, first, deliverable: events.deliverable)

            let second = try s.startRelay("relay-restarted", writeKey: "k-batch-kill", Self.batchFlags + RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            let stats = try await s.verifyCleanFinish(stopping: [second], deliverable: events.deliverable, noDuplicates: false)
            print("batch-kill-9: \(atKill.uniqueAccepted) delivered before the kill; final \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            // A redelivered event carries the messageId it had the first time (its own, or the same
            // topic-partition-offset), so June can drop it: every duplicate is a repeated messageId.
            h.check(
                stats.duplicateMessageIds == stats.duplicates,
                "duplicateMessageIds \(stats.duplicateMessageIds ?? -1) != duplicates \(stats.duplicates): a redelivered event changed its messageId"
            )
            let bound = slow.redeliveryBound
            h.check(
                stats.duplicates <= bound,
                "\(stats.duplicates) events delivered twice, bound \(bound) (delivered before the kill: \(atKill.uniqueAccepted))")
        }
    }

    /// Kills `relay` with SIGKILL once periodic commits run (they wait 10 s after the assignment) and
    /// have gone on a while, before the stream ends; checks it died of the signal. Returns the stub's
    /// stats at the kill.
    static func killOnceCommitting(_ s: Scenario, _ relay: ChildProcess, deliverable: Int) async throws -> StubStats {
        var committed: Int64 = 0
        let committing = try await eventually(timeout: .seconds(40)) {
            committed = try await s.kafka.committedOffsets(group: s.group, topic: s.topic).values.reduce(0, +)
            return committed > 0
        }
        try s.h.require(committing, "the first relay committed nothing within 40 s")
        try await Task.sleep(for: .seconds(3))
        relay.signal(SIGKILL)
        let atKill = try await s.stub.stats()
        try s.h.require(atKill.uniqueAccepted < deliverable, "the stream ended before the kill: \(atKill)")
        let killedCode = try await relay.waitForExit(timeout: .seconds(10))
        s.h.check(killedCode == 128 + SIGKILL, "killed relay exit code \(killedCode.map(String.init) ?? "running")")
        return atKill
    }
}
