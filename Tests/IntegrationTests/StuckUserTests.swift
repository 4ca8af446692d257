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

    struct Setup {
        var brokers: String
        var topic: String
        var dlq: String
        var group: String
        var stub: StubClient
        var kafka: KafkaTestClient
        var events: TestEvents
    }

    /// 2 partitions; 6,000 events of 300 users (each user in partition `index % 2`) and 100 of the hot
    /// user, all in partition 0 and spread over it from its first record: 30 times `--max-buffered` per
    /// partition, and every other record of partition 0 lies above the stuck user's first offset.
    static func setUp(_ h: Harness) async throws -> Setup {
        let topic = uniqueName("events")
        let dlq = topic + ".dlq"
        let brokers = try await h.startBroker(topics: [topic, dlq], partitions: 2)
        let stub = try await h.startStub()
        let kafka = KafkaTestClient(bootstrapServers: brokers)
        var events = TestEvents(topic: topic)
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
        try await kafka.produce(records)
        return Setup(brokers: brokers, topic: topic, dlq: dlq, group: uniqueName("relay"), stub: stub, kafka: kafka, events: events)
    }

    static func startRelay(_ h: Harness, _ s: Setup, name: String, port: Int) throws -> ChildProcess {
        try h.startRelay(
            name: name, brokers: s.brokers, topic: s.topic, group: s.group, juneURL: s.stub.baseURL, writeKey: "k-stuck",
            metricsPort: port, extraArguments: relayFlags
        )
    }

    /// Every other user delivered in order, promptly, while the hot user keeps failing; the hot
    /// partition's done-but-uncommittable offsets and oldest pending age are visible; nothing
    /// dead-lettered. Returns the stats once the others are delivered.
    static func checkOthersDelivered(_ h: Harness, _ s: Setup, metrics: MetricsClient) async throws -> StubStats {
        let begin = ContinuousClock.now
        let expected = Dictionary(uniqueKeysWithValues: (0..<300).map { ("user-\($0)", s.events.produced(user: "user-\($0)")) })
        try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: expected, timeout: .seconds(60))
        let delivered = try await s.stub.stats()
        print("stuck user: \(s.events.deliverable) events of the other users delivered in \(ContinuousClock.now - begin): \(delivered)")
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

        let dead = try await s.kafka.recordCount(of: s.dlq)
        h.check(dead == 0, "\(dead) records dead-lettered: the hot user's events must keep retrying (--retry-budget 0)")
        print("stuck user: hot partition uncommitted \(uncommitted ?? -1), oldest pending \(oldest ?? -1) s")
        return try await s.stub.stats()
    }

    /// Waits for two commit intervals with no new deliveries, so the last commit covers everything done;
    /// returns the deliveries seen in that window (the work of the last commit interval).
    static func settle(_ s: Setup) async throws -> (stats: StubStats, deliveredMeanwhile: Int) {
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

    @Test(.timeLimit(.minutes(3)))
    func stuckUserHoldsBackNobodyAndKill9ResendsOnlyUnfinishedWork() async throws {
        try await Harness.run("stuck-user-kill-9") { h in
            let s = try await Self.setUp(h)
            let portA = try Harness.freePort()
            let relayA = try Self.startRelay(h, s, name: "relay-killed", port: portA)
            _ = try await Self.checkOthersDelivered(h, s, metrics: MetricsClient(port: portA))

            let (atKill, meanwhile) = try await Self.settle(s)
            relayA.signal(SIGKILL)
            let killed = try await relayA.waitForExit(timeout: .seconds(10))
            try h.require(killed != nil, "relay still running after SIGKILL")

            let portB = try Harness.freePort()
            let metricsB = MetricsClient(port: portB)
            let relayB = try Self.startRelay(h, s, name: "relay-restarted", port: portB)
            let skipped = try await Self.waitForSkipped(h, metricsB, "the restarted relay", timeout: .seconds(40))
            // The restarted relay takes up the hot user again (its first attempt is not delayed by a backoff).
            let retried = try await eventually(timeout: .seconds(15)) {
                (try await s.stub.stats().status["503"] ?? 0) > (atKill.status["503"] ?? 0)
            }
            h.check(retried, "the restarted relay did not retry the hot user's events")
            try await Task.sleep(for: .seconds(5))  // time to resend whatever it resends
            let after = try await s.stub.stats()
            let resent = after.duplicates - atKill.duplicates
            let bound = Self.resendBound(deliveredMeanwhile: meanwhile)
            print("stuck user kill -9: skipped \(skipped ?? -1), resent \(resent) (bound \(bound)); \(after)")
            h.check(resent <= bound, "the restart resent \(resent) delivered events, bound \(bound)")
            h.check(after.orderViolations == 0, "order violations after the restart: \(after)")
            let dead = try await s.kafka.recordCount(of: s.dlq)
            h.check(dead == 0, "\(dead) records dead-lettered after the restart")
            try await RelayChecks.stopGracefully(h, relayB)
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func newOwnerSkipsTheDoneRecordsAboveTheStuckOffset() async throws {
        try await Harness.run("stuck-user-new-owner") { h in
            let s = try await Self.setUp(h)
            let portA = try Harness.freePort()
            let relayA = try Self.startRelay(h, s, name: "relay-a", port: portA)
            _ = try await Self.checkOthersDelivered(h, s, metrics: MetricsClient(port: portA))
            let (atJoin, meanwhile) = try await Self.settle(s)

            let portB = try Harness.freePort()
            let metricsB = MetricsClient(port: portB)
            let relayB = try Self.startRelay(h, s, name: "relay-b", port: portB)
            let joined = try await eventually(timeout: .seconds(30)) { (try? await metricsB.status().assignedPartitions) ?? 0 >= 1 }
            try h.require(joined, "relay-b was assigned nothing within 30 s")
            // relay-a leaves, so relay-b owns the hot partition whichever partition the join gave it.
            try await RelayChecks.stopGracefully(h, relayA)
            let ownsBoth = try await eventually(timeout: .seconds(30)) { (try? await metricsB.status().assignedPartitions) == 2 }
            h.check(ownsBoth, "relay-b does not own both partitions after relay-a left")

            let skipped = try await Self.waitForSkipped(h, metricsB, "the new owner", timeout: .seconds(20))
            try await Task.sleep(for: .seconds(5))
            let after = try await s.stub.stats()
            let resent = after.duplicates - atJoin.duplicates
            let bound = Self.resendBound(deliveredMeanwhile: meanwhile)
            print("stuck user new owner: skipped \(skipped ?? -1), resent \(resent) (bound \(bound)); \(after)")
            h.check(resent <= bound, "the new owner resent \(resent) delivered events, bound \(bound)")
            h.check(after.orderViolations == 0, "order violations after the hand-over: \(after)")
            let dead = try await s.kafka.recordCount(of: s.dlq)
            h.check(dead == 0, "\(dead) records dead-lettered after the hand-over")
            try await RelayChecks.stopGracefully(h, relayB)
        }
    }
}
