import Foundation
import Kafka
import Testing

/// `--concurrency adaptive` (the default) against a June smaller than `--max-in-flight`, a refused
/// key and an outage: the in-flight limit is learned from June's answers and starts small whenever
/// June comes back. Counts and the limit gauge are asserted, never timings.
@Suite("june-relay adaptive concurrency", .serialized)
struct ConcurrencyTests {
    /// June serves 32 requests at once at 20 ms and answers 429 (`Retry-After: 1`) beyond: after the
    /// first seconds at most 5% of the relay's requests are answered 429, the limit settles below the
    /// ceiling of 256, every event arrives in order and nothing is dead-lettered.
    @Test(.timeLimit(.minutes(3)))
    func aJuneSmallerThanTheCeilingIsFoundAndRespected() async throws {
        try await Harness.run("concurrency-capacity") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "20", "--capacity-429", "32"])
            let stub = s.stub
            let events = try await s.produceValid(16_000, users: 400)
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-capacity")
            // The first seconds find the capacity; from then on the share of 429s is measured.
            let warm = try await eventually(timeout: .seconds(60)) { try await stub.stats().accepted >= 3_000 }
            let warmStats = try await stub.stats()
            try h.require(warm, "the relay did not get going: \(warmStats)")
            let before = try await stub.stats()
            var limits: [Int] = []
            let delivered = try await eventually(timeout: .seconds(90), every: .milliseconds(250)) {
                if let limit = try? await metrics.status().concurrencyLimit { limits.append(limit) }
                return try await stub.stats().uniqueAccepted >= events.deliverable
            }
            let after = try await stub.stats()
            let rejections = (after.capacityRejections ?? 0) - (before.capacityRejections ?? 0)
            let requests = after.requests - before.requests
            let share = Double(rejections) / Double(max(1, requests))
            print(
                "capacity 32: \(requests) requests after warm-up, \(rejections) answered 429 (\(String(format: "%.2f", share * 100))%); limits \(limits.prefix(40)) … peak concurrent \(after.peakConcurrent ?? -1)"
            )
            h.check(delivered, "not everything delivered: \(after)")
            h.check(after.capacityRejections != nil, "the stub does not report capacity rejections: \(after)")
            h.check(share <= 0.05, "\(rejections) of \(requests) requests (\(share * 100)%) answered 429 after the warm-up")
            h.check(!limits.isEmpty && limits.allSatisfy { $0 < 256 }, "the limit did not settle below the ceiling: \(limits)")
            try await s.finishWithoutDeadLetters(stopping: relay, deliverable: events.deliverable)
        }
    }

    /// A wrong write key: the relay starts at the small initial limit, so at most 20 requests carry
    /// the refused key before it stops and probes; with the key accepted it resumes by itself.
    @Test(.timeLimit(.minutes(2)))
    func aWrongKeyDrawsOnlyASmallFirstWave() async throws {
        try await Harness.run("concurrency-wrong-key") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "5"])
            let stub = s.stub
            _ = try await HTTP.post(stub.baseURL + "/control/write-key?key=the-right-key")
            let events = try await s.produceValid(2_000, users: 500)
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "a-wrong-key")
            let refused = try await eventually(timeout: .seconds(30)) { (try? await metrics.status().mode) == "refused" }
            try h.require(refused, "the relay never paused for the refused key")
            try await Task.sleep(for: .seconds(3))
            let stats = try await stub.stats()
            let refusedRequests = stats.status["401"] ?? 0
            print("wrong key: \(refusedRequests) event requests answered 401, \(stats.probes ?? -1) probes")
            h.check(refusedRequests >= 1 && refusedRequests <= 20, "\(refusedRequests) requests carried the refused key (at most 20)")
            h.check((stats.probes ?? 0) >= 1, "the relay did not probe: \(stats)")
            _ = try await HTTP.post(stub.baseURL + "/control/write-key?key=a-wrong-key")
            try await s.checkEventuallyAccepted(events.deliverable, timeout: .seconds(60), "not resumed after the key was accepted")
            try await s.checkNothingDeadLettered(" for a refused key")
            try await RelayChecks.stopGracefully(h, relay)
        }
    }

    /// June down for 20 s in the middle of a backlog: during the outage the limit is back at the slow
    /// start, and once June answers it starts small and widens (read from `/status`, the same value as
    /// `relay_june_concurrency_limit`).
    @Test(.timeLimit(.minutes(3)))
    func afterAnOutageTheLimitStartsSmallAndWidens() async throws {
        try await Harness.run("concurrency-outage") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "20"])
            let events = try await s.produceValid(30_000, users: 600)
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-outage-limit")
            var before: [Int] = []
            let going = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                if let limit = try? await metrics.status().concurrencyLimit { before.append(limit) }
                return try await s.stub.stats().accepted >= 2_000
            }
            try h.require(going, "the relay did not get going")
            try await s.stub.startOutage(seconds: 20)
            let down = try await eventually(timeout: .seconds(30)) { (try? await metrics.status().mode) == "outage" }
            try h.require(down, "no outage detected")
            let during = try await metrics.status().concurrencyLimit
            var after: [Int] = []
            let widened = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                guard let status = try? await metrics.status(), status.mode == "running", let limit = status.concurrencyLimit else { return false }
                after.append(limit)
                return after.count >= 3 && limit >= 2 * after[0]
            }
            let gauge = try await metrics.value("relay_june_concurrency_limit")
            print("outage: limits before \(before.suffix(10)), during \(during ?? -1), after \((after.prefix(30))), gauge \(gauge ?? -1)")
            h.check((before.max() ?? 0) > 8, "the limit never grew beyond the slow start before the outage: \(before)")
            // Back to the slow start of 8 (and cut further by the failures still arriving).
            h.check((during ?? 999) <= 8, "the limit during the outage is \(during ?? -1), not back at the slow start of 8")
            h.check((after.first ?? 999) <= 16, "June just back got a wide limit at once: \(after.prefix(5))")
            h.check(widened, "the limit did not widen after the outage: \(after.prefix(30))")
            h.check(gauge != nil, "relay_june_concurrency_limit is not exported")
            try await s.checkEventuallyAccepted(events.deliverable, timeout: .seconds(90), "not everything delivered")
            try await s.finishWithoutDeadLetters(stopping: relay, deliverable: events.deliverable)
        }
    }
}
