import Foundation
import Kafka
import Testing

/// `retries-exhausted` needs evidence that June is up: a 2xx for a real event (a probe's answer never
/// counts). A user June keeps failing is quarantined once its head exhausted its budget, so its later
/// events drain in seconds, one attempt each, while the other users are unaffected.
@Suite("june-relay retry budgets", .serialized)
struct RetryBudgetTests {
    /// Every event answered 503 (all users are `stub-fail-*`), probes answered (the stub answers `{}`
    /// with 400): June accepts no event, so nothing may be dead-lettered however long it lasts.
    @Test(.timeLimit(.minutes(3)))
    func answeredProbesAreNoEvidenceForRetriesExhausted() async throws {
        try await Harness.run("retry-budget-probes") { h in
            let s = try await Scenario.start(h)
            var events = TestEvents(topic: s.topic)
            for index in 0..<40 { events.valid(user: "stub-fail-\(index % 10)", deliverable: false) }
            try await s.produce(events)
            let (relay, _) = try s.startRelayWithMetrics(writeKey: "k-budget", ["--retry-budget", "15"])
            try await Task.sleep(for: .seconds(75))
            let stats = try await s.stub.stats()
            print("75 s of 503s with answered probes: \(stats)")
            h.check((stats.status["503"] ?? 0) > 40, "the events were retried: \(stats)")
            h.check((stats.probes ?? 0) > 0, "June was probed (and the probes answered): \(stats)")
            h.check(stats.accepted == 0, "the stub accepted events it must fail: \(stats)")
            try await s.checkNothingDeadLettered(" as retries-exhausted though June accepted none")
            try await RelayChecks.stopGracefully(h, relay)
        }
    }

    /// One user June fails for every event (300 of them queued) among 60 users June accepts: once its
    /// head exhausted `--retry-budget 10`, the other 299 get one attempt each and are dead-lettered
    /// within a minute; every other user is delivered in order and nothing of theirs is dead-lettered.
    @Test(.timeLimit(.minutes(3)))
    func aUserJuneKeepsFailingDrainsOnceItsHeadIsDeadLettered() async throws {
        try await Harness.run("retry-budget-quarantine") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "5"])
            let hot = "stub-fail-hot"
            var events = TestEvents(topic: s.topic)
            for index in 0..<3_000 {
                if index % 10 == 0 { events.valid(user: hot, deliverable: false) }
                events.valid(user: "user-\(index % 60)")
            }
            try await s.produce(events)
            let started = ContinuousClock.now
            let relay = try s.startRelay(writeKey: "k-quarantine", ["--retry-budget", "10"])
            let firstDeadLetter = try await eventually(timeout: .seconds(40)) { try await s.kafka.recordCount(of: s.dlq) > 0 }
            try h.require(firstDeadLetter, "the hot user's head was never dead-lettered")
            let headDeadLettered = ContinuousClock.now
            let drained = try await eventually(timeout: .seconds(60)) { try await s.kafka.recordCount(of: s.dlq) >= 300 }
            let dead = try await s.kafka.recordCount(of: s.dlq)
            print(
                "quarantine: head dead-lettered after \(headDeadLettered - started), \(dead) dead letters \(ContinuousClock.now - headDeadLettered) later"
            )
            h.check(drained && dead == 300, "\(dead) of the hot user's 300 events dead-lettered within a minute of its head")
            let letters = try await s.kafka.readAll(topic: s.dlq, count: Int(dead))
            let reasons = Set(letters.compactMap { $0.header("june-relay.error.reason") })
            h.check(reasons == ["retries-exhausted"], "reasons \(reasons)")
            h.check(letters.allSatisfy { $0.keyText == hot }, "only the hot user is dead-lettered")
            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: s.stub, deliverable: events.deliverable)
            h.check(stats.accepted == stats.uniqueAccepted, "duplicates: \(stats)")
            try await RelayChecks.stopGracefully(h, relay)
            try await s.checkNoLag()
        }
    }
}
