import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The built `june-relay` binary end to end: a `dev-broker` process, a `june-stub` process and one or
/// more `run` processes over real sockets. Serialized: the scenarios share two cores and
/// their timing (latency, outages, rebalances) must not compete.
///
/// Here the scenarios that deliver everything; `EndToEndDeadLetterTests.swift` has those June rejects,
/// `EndToEndStartUpAndBufferTests.swift` start-up validation and bounded buffers, and
/// `DevBrokerKcatTests.swift` the dev broker with kcat.
@Suite("june-relay end to end", .serialized)
struct EndToEndTests {
    // MARK: 1. Happy path

    /// 2,000 events of 50 users; every 100th is one of the five kinds of bad input.
    static func happyPathEvents(topic: String) -> TestEvents {
        var events = TestEvents(topic: topic)
        for index in 0..<2_000 {
            let user = "user-\(index % 50)"
            if index % 100 == 99 {
                events.invalidMix(variant: index / 100, user: user)
            } else {
                events.valid(user: user)
            }
        }
        return events
    }

    @Test(.timeLimit(.minutes(3)))
    func deliversEveryValidEventOnceInOrderAndDeadLettersInvalidOnes() async throws {
        try await Harness.run("happy-path") { h in
            let started = Date()
            let s = try await Scenario.start(h)
            let events = Self.happyPathEvents(topic: s.topic)
            try await s.produce(events)

            let writeKey = "e2e-WRITE-KEY-" + UUID().uuidString
            let relay = try s.startRelay(writeKey: writeKey, ["--log-level", "trace"])
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            try await s.waitForDeadLetters(events.invalid.count, timeout: .seconds(30))

            let stats = try await s.stopAndCheckDelivered([relay], deliverable: events.deliverable)
            h.check(stats.accepted == events.deliverable, "accepted \(stats.accepted) != valid \(events.deliverable): \(stats)")
            h.check(stats.users == 50, "users \(stats.users), expected 50")
            h.check(stats.authorizationSeen == ["Basic " + writeKey], "Authorization headers seen: \(stats.authorizationSeen.count) distinct")

            try await s.verifyDeadLetters(events.invalid, of: events, testStarted: started)
            try await s.checkNoLag()
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: writeKey)
        }
    }

    // MARK: 2. Transient June failures

    @Test(.timeLimit(.minutes(3)))
    func retriesTransient503And429UntilEverythingIsDelivered() async throws {
        try await Harness.run("transient-failures") { h in
            let s = try await Scenario.start(h, stub: ["--fail-rate", "0.05", "--throttle-rate", "0.02"])
            let events = try await s.produceValid(1_000, users: 40)

            let relay = try s.startRelay(writeKey: "k-transient")
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(120))
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable)
            h.check((stats.status["503"] ?? 0) > 0 && (stats.status["429"] ?? 0) > 0, "no faults were injected: \(stats)")
        }
    }

    // MARK: 3. kill -9 and restart

    @Test(.timeLimit(.minutes(3)))
    func killedRelayLosesNothingAfterRestart() async throws {
        try await Harness.run("kill-9") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "20"])
            let events = try await s.produceValid(2_000, users: 20)

            let first = try s.startRelay("relay-killed", writeKey: "k-kill", RelayChecks.fastGroupFlags)
            let atKill = try await s.waitForAccepted(300, timeout: .seconds(60))
            first.signal(SIGKILL)
            try h.require(atKill.uniqueAccepted < events.deliverable, "the stream ended before the kill: \(atKill)")
            let killedCode = try await first.waitForExit(timeout: .seconds(10))
            h.check(killedCode == 128 + SIGKILL, "killed relay exit code \(killedCode.map(String.init) ?? "running")")

            let second = try s.startRelay("relay-restarted", writeKey: "k-kill", RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            let stats = try await s.verifyCleanFinish(stopping: [second], deliverable: events.deliverable, noDuplicates: false)
            print("kill-9: \(atKill.uniqueAccepted) delivered before the kill; final \(stats)")
        }
    }

    // MARK: 4. A second relay joins the group

    @Test(.timeLimit(.minutes(3)))
    func secondRelayJoiningMidStreamLosesNothingAndKeepsOrder() async throws {
        try await Harness.run("rebalance") { h in
            // 16 users × 10 requests/s: the stream lasts ~30 s. A cooperative join takes two dev-broker
            // rebalances of ~5 s each, and on a loaded machine one or two more.
            let s = try await Scenario.start(h, stub: ["--latency-ms", "100"])
            let events = try await s.produceValid(4_800, users: 16)

            let (relayA, metricsA) = try s.startRelayWithMetrics("relay-a", writeKey: "k-rebalance", RelayChecks.fastGroupFlags)
            let atJoin = try await s.waitForAccepted(300, timeout: .seconds(60))
            try h.require(atJoin.uniqueAccepted < events.deliverable / 4, "the stream is too far along for a mid-stream join: \(atJoin)")
            let (relayB, metricsB) = try s.startRelayWithMetrics("relay-b", writeKey: "k-rebalance", RelayChecks.fastGroupFlags)

            try await s.waitForAccepted(events.deliverable, timeout: .seconds(120))

            // The second relay really took part: it was assigned partitions and consumed records.
            var consumedByB: Double = 0
            let bConsumed = try await eventually(timeout: .seconds(10)) {
                consumedByB = (try? await metricsB.value("relay_records_consumed_total")) ?? 0
                return consumedByB > 0
            }
            h.check(bConsumed, "relay-b consumed nothing (relay_records_consumed_total = \(consumedByB))")
            let assignedB = try await metricsB.value("relay_assigned_partitions") ?? 0
            let consumedByA = try await metricsA.value("relay_records_consumed_total") ?? 0
            h.check(assignedB > 0 && assignedB < 4, "relay-b holds \(assignedB) partitions, expected a share of the 4")

            let stats = try await s.verifyCleanFinish(stopping: [relayB, relayA], deliverable: events.deliverable, noDuplicates: false)
            print("rebalance: relay-a consumed \(consumedByA), relay-b consumed \(consumedByB); final \(stats)")
        }
    }

    // MARK: 5. June outage

    @Test(.timeLimit(.minutes(3)))
    func juneOutagePausesConsumptionAndLosesNothing() async throws {
        try await Harness.run("outage") { h in
            // 20 users × 10 requests/s: the first 600 events take ~3 s, so the outage starts mid-stream.
            let s = try await Scenario.start(h, stub: ["--latency-ms", "100"])
            var events = try await s.produceValid(600, users: 20)

            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-outage")
            try await s.waitForAccepted(100, timeout: .seconds(60))
            let outageSeconds = 20
            try await s.stub.startOutage(seconds: outageSeconds)
            let outageStarted = ContinuousClock.now

            try await Self.checkOutageNoticedButReady(h, metrics)
            try await Self.checkConsumptionPaused(
                h, s, metrics, events: &events, outageStarted: outageStarted, outageEnds: outageStarted + .seconds(outageSeconds)
            )
            let stillOut = try await metrics.value("relay_june_outage")
            h.check(stillOut == 1, "relay_june_outage \(stillOut.map { "\($0)" } ?? "absent") before the outage ended")

            // After the outage: everything delivered, nothing dead-lettered, consumption resumed.
            let final = try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            let recovered = try await eventually(timeout: .seconds(10)) {
                try await metrics.value("relay_june_outage") == 0
            }
            h.check(recovered, "relay_june_outage did not return to 0")
            let readyAgain = try await metrics.readyzStatus()
            h.check(readyAgain == 200, "/readyz answered \(readyAgain) after the outage")
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable)
            h.check((stats.status["503"] ?? 0) > 0, "the relay never met the outage: \(final)")
        }
    }

    /// The relay notices the outage (gauge 1) and stays ready: readiness is not tied to June, so an
    /// outage must not make every replica unready at once.
    static func checkOutageNoticedButReady(_ h: Harness, _ metrics: MetricsClient) async throws {
        var gauge: Double?
        let detected = try await eventually(timeout: .seconds(12)) {
            gauge = try await metrics.value("relay_june_outage")
            return gauge == 1
        }
        try h.require(detected, "relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 12 s into the outage")
        let readyz = try await metrics.readyzStatus()
        h.check(readyz == 200, "/readyz answered \(readyz) during the outage, expected 200")
    }

    /// Consumption is paused: 400 more events produced during the outage are not consumed while June
    /// is down (appended to `events`).
    static func checkConsumptionPaused(
        _ h: Harness, _ s: Scenario, _ metrics: MetricsClient, events: inout TestEvents,
        outageStarted: ContinuousClock.Instant, outageEnds: ContinuousClock.Instant
    ) async throws {
        let firstBatch = events.records.count
        // The consumed counter is published once per commit interval, so let it settle first.
        try await Task.sleep(for: .seconds(2))
        let consumedBefore = try await metrics.value("relay_records_consumed_total") ?? 0
        h.check(consumedBefore <= Double(firstBatch), "consumed \(consumedBefore) of \(firstBatch) before the second batch")
        for index in 0..<400 { events.valid(user: "user-\(index % 20)") }
        try await s.kafka.produce(Array(events.records[firstBatch...]))
        try await Task.sleep(for: .seconds(4))
        let consumedDuring = try await metrics.value("relay_records_consumed_total") ?? 0
        let stillInOutage = ContinuousClock.now < outageEnds - .seconds(1)
        try h.require(stillInOutage, "the test took too long to observe the paused consumer within the outage")
        h.check(
            consumedDuring == consumedBefore,
            "relay_records_consumed_total grew from \(consumedBefore) to \(consumedDuring) during the outage"
        )
        print(
            "outage: detected \(ContinuousClock.now - outageStarted) into the outage window; consumed \(consumedBefore) before and \(consumedDuring) after producing \(events.records.count - firstBatch) more"
        )
    }
}
