import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One user June never accepts (the stub answers 503 to `stub-fail-*` forever) must not hold back the
/// other users of its partition, and a restart or a new owner must not resend what was already
/// delivered above the stuck offset (docs/design.md: offset-commit metadata).
@Suite("june-relay one stuck user", .serialized)
struct StuckUserTests {
    static let hotUser = "stub-fail-hot"
    static let hotPartition: Int32 = 0
    static let maxInFlight = 32
    static let relayFlags =
        [
            "--max-buffered", "200", "--retry-budget", "0", "--max-in-flight", String(maxInFlight),
            "--drain-timeout", "5", "--request-timeout", "5",
        ] + RelayChecks.fastGroupFlags

    /// 2 partitions; 6,000 events of 300 users (each user in partition `index % 2`) and 100 of the hot
    /// user, all in partition 0 and spread over it from its first record: 30 times `--max-buffered` per
    /// partition, and every other record of partition 0 lies above the stuck user's first offset.
    static func setUp(_ h: Harness) async throws -> (Scenario, TestEvents) {
        let s = try await Scenario.start(h, partitions: 2)
        var events = TestEvents(topic: s.topic)
        for index in 0..<6_000 {
            if index % 60 == 0 { events.valid(user: hotUser, deliverable: false) }
            events.valid(user: "user-\(index % 300)")
        }
        let records = events.records.map { record in
            var record = record
            let key = record.key.map { String(decoding: $0, as: UTF8.self) } ?? ""
            record.partition = key == hotUser ? hotPartition : Int32(key.split(separator: "-").last.flatMap { Int($0) }.map { $0 % 2 } ?? 0)
            return record
        }
        try await s.kafka.produce(records)
        return (s, events)
    }

    /// A relay of the stuck-user scenario, with its metrics client.
    static func startRelay(_ s: Scenario, name: String) throws -> (relay: ChildProcess, metrics: MetricsClient) {
        try s.startRelayWithMetrics(name, writeKey: "k-stuck", relayFlags)
    }

    /// Starts the first relay, checks it delivers every other user (``checkOthersDelivered(_:_:metrics:)``)
    /// and lets its commits settle (``settle(_:)``); returns it with the stub's stats then and the
    /// deliveries of the settle window.
    static func startFirstRelayAndSettle(
        _ s: Scenario, _ events: TestEvents, name: String
    ) async throws -> (relay: ChildProcess, stats: StubStats, deliveredMeanwhile: Int) {
        let relayA = try startRelay(s, name: name)
        _ = try await checkOthersDelivered(s, events, metrics: relayA.metrics)
        let (stats, meanwhile) = try await settle(s)
        return (relayA.relay, stats, meanwhile)
    }

    /// Every other user delivered in order, promptly, while the hot user keeps failing; the hot
    /// partition's done-but-uncommittable offsets and oldest pending age are visible; nothing
    /// dead-lettered. Returns the stats once the others are delivered.
    static func checkOthersDelivered(_ s: Scenario, _ events: TestEvents, metrics: MetricsClient) async throws -> StubStats {
        let h = s.h
        let begin = ContinuousClock.now
        let expected = Dictionary(uniqueKeysWithValues: (0..<300).map { ("user-\($0)", events.produced(user: "user-\($0)")) })
        try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: expected, timeout: .seconds(60))
        let delivered = try await s.stub.stats()
        print("stuck user: \(events.deliverable) events of the other users delivered in \(ContinuousClock.now - begin): \(delivered)")
        h.check(delivered.orderViolations == 0, "order violations: \(delivered)")
        h.check(delivered.duplicates == 0, "duplicates before any restart: \(delivered)")
        let failedBefore = delivered.status["503"] ?? 0
        h.check(failedBefore > 0, "the hot user was never tried: \(delivered)")

        let hot = ["partition": String(hotPartition)]
        var uncommitted: Double?
        var oldest: Double?
        let visible = try await eventually(timeout: .seconds(10)) {
            uncommitted = try await metrics.value("relay_uncommitted_offsets", labels: hot)
            oldest = try await metrics.value("relay_oldest_pending_seconds", labels: hot)
            return (uncommitted ?? 0) > 0 && (oldest ?? 0) > 0
        }
        h.check(
            visible,
            "hot partition: relay_uncommitted_offsets \(uncommitted.map { "\($0)" } ?? "absent"), relay_oldest_pending_seconds \(oldest.map { "\($0)" } ?? "absent")"
        )
        // The other partition commits normally: its lag is 0.
        let end = try await s.kafka.endOffsets(of: s.topic)
        let other = KafkaTopicPartition(topic: s.topic, partition: 1 - hotPartition)
        let otherCommitted = try await eventually(timeout: .seconds(5)) {
            try await s.kafka.committedOffsets(group: s.group, topic: s.topic)[other] == end[other]
        }
        h.check(otherCommitted, "partition \(other.partition) (no stuck user) not committed to its end \(end[other] ?? -1)")

        try await s.checkNothingDeadLettered(": the hot user's events must keep retrying (--retry-budget 0)")
        print("stuck user: hot partition uncommitted \(uncommitted ?? -1), oldest pending \(oldest ?? -1) s")
        return try await s.stub.stats()
    }

    /// Waits for two commit intervals with no new deliveries, so the last commit covers everything done;
    /// returns the deliveries seen in that window (the work of the last commit interval).
    static func settle(_ s: Scenario) async throws -> (stats: StubStats, deliveredMeanwhile: Int) {
        let before = try await s.stub.stats()
        try await Task.sleep(for: .seconds(2.5))
        let after = try await s.stub.stats()
        return (after, after.accepted - before.accepted)
    }

    /// The bound on events sent again after a hand-over (kill -9 or a new owner): what was in flight
    /// (at most --max-in-flight requests of one event) plus what was delivered since the last commit (at
    /// most the deliveries of the settle window, which spans two 1 s commit intervals). Without the
    /// commit metadata the new owner would resend every delivered record of the hot partition above the
    /// hot user's first offset: about 3,000.
    static func resendBound(deliveredMeanwhile: Int) -> Int { maxInFlight + deliveredMeanwhile }

    /// Waits until `who` reports skipped records (relay_records_skipped_total > 0); checks that it did.
    /// Returns the count read last (nil when the metric was never read).
    static func waitForSkipped(_ h: Harness, _ metrics: MetricsClient, _ who: String, timeout: Duration) async throws -> Double? {
        var skipped: Double?
        let skipping = try await eventually(timeout: timeout) {
            skipped = try? await metrics.value("relay_records_skipped_total")
            return (skipped ?? 0) > 0
        }
        h.check(skipping, "\(who) skipped nothing (relay_records_skipped_total \(skipped.map { "\($0)" } ?? "absent"))")
        return skipped
    }

    /// After a hand-over (`what`: "the restart", "the hand-over") to `relay` (`who`): gives it 5 s to resend
    /// whatever it resends, checks it resent no more than ``resendBound(deliveredMeanwhile:)`` since
    /// `before`, kept the order and dead-lettered nothing, then stops it.
    static func checkResentOnlyUnfinishedWork(
        _ s: Scenario, by relay: ChildProcess, who: String, after what: String, since before: StubStats, deliveredMeanwhile: Int,
        skipped: Double?
    ) async throws {
        try await Task.sleep(for: .seconds(5))
        let after = try await s.stub.stats()
        let resent = after.duplicates - before.duplicates
        let bound = resendBound(deliveredMeanwhile: deliveredMeanwhile)
        print("stuck user, \(who): skipped \(skipped ?? -1), resent \(resent) (bound \(bound)); \(after)")
        s.h.check(resent <= bound, "\(who) resent \(resent) delivered events, bound \(bound)")
        s.h.check(after.orderViolations == 0, "order violations after \(what): \(after)")
        try await s.checkNothingDeadLettered(" after \(what)")
        try await RelayChecks.stopGracefully(s.h, relay)
    }

    @Test(.timeLimit(.minutes(3)))
    func stuckUserHoldsBackNobodyAndKill9ResendsOnlyUnfinishedWork() async throws {
        try await Harness.run("stuck-user-kill-9") { h in
            let (s, events) = try await Self.setUp(h)
            let (relayA, atKill, meanwhile) = try await Self.startFirstRelayAndSettle(s, events, name: "relay-killed")
            relayA.signal(SIGKILL)
            let killed = try await relayA.waitForExit(timeout: .seconds(10))
            try h.require(killed != nil, "relay still running after SIGKILL")

            let relayB = try Self.startRelay(s, name: "relay-restarted")
            let skipped = try await Self.waitForSkipped(h, relayB.metrics, "the restarted relay", timeout: .seconds(40))
            // The restarted relay takes up the hot user again (its first attempt is not delayed by a backoff).
            let retried = try await eventually(timeout: .seconds(15)) {
                (try await s.stub.stats().status["503"] ?? 0) > (atKill.status["503"] ?? 0)
            }
            h.check(retried, "the restarted relay did not retry the hot user's events")
            try await Self.checkResentOnlyUnfinishedWork(
                s, by: relayB.relay, who: "the restart", after: "the restart", since: atKill, deliveredMeanwhile: meanwhile, skipped: skipped)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func newOwnerSkipsTheDoneRecordsAboveTheStuckOffset() async throws {
        try await Harness.run("stuck-user-new-owner") { h in
            let (s, events) = try await Self.setUp(h)
            let (relayA, atJoin, meanwhile) = try await Self.startFirstRelayAndSettle(s, events, name: "relay-a")

            let (relayB, metricsB) = try Self.startRelay(s, name: "relay-b")
            let joined = try await eventually(timeout: .seconds(30)) { (try? await metricsB.status().assignedPartitions) ?? 0 >= 1 }
            try h.require(joined, "relay-b was assigned nothing within 30 s")
            // relay-a leaves, so relay-b owns the hot partition whichever partition the join gave it.
            try await RelayChecks.stopGracefully(h, relayA)
            let ownsBoth = try await eventually(timeout: .seconds(30)) { (try? await metricsB.status().assignedPartitions) == 2 }
            h.check(ownsBoth, "relay-b does not own both partitions after relay-a left")

            let skipped = try await Self.waitForSkipped(h, metricsB, "the new owner", timeout: .seconds(20))
            try await Self.checkResentOnlyUnfinishedWork(
                s, by: relayB, who: "the new owner", after: "the hand-over", since: atJoin, deliveredMeanwhile: meanwhile, skipped: skipped)
        }
    }
}
