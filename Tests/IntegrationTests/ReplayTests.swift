import Foundation
import Kafka
import Testing

/// The replay flow of docs/operations.md with the built binary, `dev-broker` and `june-stub` as
/// processes: stop the relays (SIGTERM), move the group's offsets back, start a relay, and every
/// event reaches June again.
///
/// - A relay with the default group settings, stopped by SIGTERM, and `offsets reset --to-earliest`
///   at once: the reset succeeds within 10 s (the relay left the group; on the dev broker the relay
///   also shortens its group session, see `RelayServices.shortenGroupSession`), and the next relay replays
///   every event.
/// - After done-ranges metadata exists (a stuck user holds the committed offset back while later
///   events were delivered), a rewind without metadata, by a third-party client (a plain member
///   commit through our Kafka module in the test process) or by `offsets reset --to-earliest`, makes
///   the next relay send every event again: nothing is skipped on the strength of the old ranges.
@Suite("replay after stopping the relays", .serialized, .timeLimit(.minutes(3)))
struct ReplayTests {
    /// How a rewind is made.
    enum Rewind: String, CustomTestStringConvertible, CaseIterable {
        case thirdPartyCommit = "a third-party member commit without metadata"
        case offsetsReset = "offsets reset --to-earliest"
        var testDescription: String { rawValue }
    }

    @Test func resetRightAfterSIGTERMSucceedsAndReplaysEveryEvent() async throws {
        try await Harness.run("replay-reset-at-once") { h in
            let s = try await Scenario.start(h)
            let events = try await s.produceValid(80, users: 8)
            let expected = Self.perUser(events, users: 8)

            // Default group settings on purpose: this is the flow an operator runs.
            let first = try s.startRelay("relay-1", writeKey: "k-replay", ["--commit-interval", "0.2"])
            try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: expected, timeout: .seconds(60))
            let committed = try await eventually(timeout: .seconds(20)) {
                try await Self.lagIsZero(s.kafka, group: s.group, topic: s.topic)
            }
            try h.require(committed, "the first relay committed everything")
            try await RelayChecks.stopGracefully(h, first)

            let started = ContinuousClock.now
            let reset = try await h.runTool(
                ["offsets", "reset", "--brokers", s.brokers, "--group", s.group, "--topic", s.topic, "--to-earliest", "--timeout", "60"],
                timeout: .seconds(70)
            )
            let elapsed = ContinuousClock.now - started
            try h.require(reset.status == 0, "offsets reset exit \(reset.status) after \(elapsed): \(reset.stderr.suffix(2_000))")
            h.check(elapsed < .seconds(10), "offsets reset right after SIGTERM took \(elapsed), expected under 10 s")
            h.check(reset.stdout.contains("committed new offsets"), "\(reset.stdout)")
            let afterReset = try await s.kafka.committedOffsets(group: s.group, topic: s.topic)
            h.check(afterReset.values.allSatisfy { $0 == 0 } && !afterReset.isEmpty, "committed after the reset: \(afterReset)")

            let second = try s.startRelay("relay-2", writeKey: "k-replay", ["--commit-interval", "0.2"])
            try await Self.waitForEveryEvent(h, stub: s.stub, expected: expected, times: 2, timeout: .seconds(40))
            try await RelayChecks.stopGracefully(h, second)
        }
    }

    /// One partition: 120 records, the stuck user's at offsets 20, 40, 60 (June answers 503 forever),
    /// the others from 6 users. The first relay delivers all but the stuck user's, so it commits 20
    /// with done ranges above it (jr2 metadata).
    static let stuckUser = "stub-fail-replay"
    static let stuckOffsets: Set<Int> = [20, 40, 60]
    static let total = 120
    static let doneRangesFlags = ["--retry-budget", "0", "--commit-interval", "0.2"]

    @Test(arguments: Rewind.allCases)
    func rewindAfterDoneRangesReplaysEveryEvent(_ rewind: Rewind) async throws {
        try await Harness.run("replay-done-ranges") { h in
            let s = try await Scenario.start(h, partitions: 1)
            let tp = KafkaTopicPartition(topic: s.topic, partition: 0)
            let events = TestEvents.withStuckUser(Self.stuckUser, at: Self.stuckOffsets, total: Self.total, users: 6, topic: s.topic)
            try await s.produceToPartitionZero(events)
            let expected = Self.perUser(events, users: 6)

            let (first, _) = try s.startRelayWithMetrics("relay-1", writeKey: "k-replay", Self.doneRangesFlags)
            try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: expected, timeout: .seconds(60))
            let (ranges, stored) = try await s.waitForCommit(of: tp, timeout: .seconds(20)) {
                $0?.offset == 20 && $0.map { $0.metadata.hasPrefix("jr2:0:20:") } == true
            }
            try h.require(ranges, "committed 20 with done ranges: \(String(describing: stored))")
            try await RelayChecks.stopGracefully(h, first)

            try await Self.rewindToZero(s, tp, by: rewind)
            let rewound = try await s.kafka.committedWithMetadata(group: s.group, partition: tp)
            try h.require(rewound?.offset == 0 && rewound?.metadata.isEmpty == true, "rewound to 0 without metadata: \(String(describing: rewound))")

            let (second, metrics) = try s.startRelayWithMetrics("relay-2", writeKey: "k-replay", Self.doneRangesFlags)
            // Every deliverable event reaches June a second time ...
            try await Self.waitForEveryEvent(h, stub: s.stub, expected: expected, times: 2, timeout: .seconds(40))
            // ... every one of the stuck user's events is taken up again, and nothing was skipped.
            try await s.checkStuckEventsTakenUpAndNothingSkipped(metrics, stuckEvents: Self.stuckOffsets.count, "after the rewind")
            let stats = try await s.stub.stats()
            h.check(stats.orderViolations == 0, "order: \(stats)")
            try await RelayChecks.stopGracefully(h, second)
        }
    }

    /// Rewinds the group's commit of `tp` to 0, without metadata, as `rewind` says.
    static func rewindToZero(_ s: Scenario, _ tp: KafkaTopicPartition, by rewind: Rewind) async throws {
        switch rewind {
        case .thirdPartyCommit:
            // Any client may rewind the group, e.g. kafka-consumer-groups or an application: a plain
            // commit, no metadata. (A member's commit: the dev broker refuses standalone commits for a
            // group that had members.)
            let member = try await s.kafka.joinedMember(group: s.group, topic: s.topic, partitions: 1, timeout: .seconds(30))
            try await member.commit([tp: 0])
            try await member.close()
        case .offsetsReset:
            let reset = try await s.h.runTool(
                ["offsets", "reset", "--brokers", s.brokers, "--group", s.group, "--topic", s.topic, "--to-earliest"], timeout: .seconds(45)
            )
            try s.h.require(reset.status == 0, "offsets reset exit \(reset.status): \(reset.stderr.suffix(2_000))")
        }
    }

    // MARK: - Helpers

    /// Each deliverable user's number of events.
    static func perUser(_ events: TestEvents, users: Int) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (0..<users).map { ("user-\($0)", events.produced(user: "user-\($0)")) })
    }

    static func lagIsZero(_ kafka: KafkaTestClient, group: String, topic: String) async throws -> Bool {
        let end = try await kafka.endOffsets(of: topic)
        let committed = try await kafka.committedOffsets(group: group, topic: topic)
        return end.allSatisfy { tp, high in high == 0 || committed[tp] == high }
    }

    /// Waits until the stub accepted each seq `0..<count` of every user at least `times` times.
    static func waitForEveryEvent(
        _ h: Harness, stub: StubClient, expected: [String: Int], times: Int, timeout: Duration
    ) async throws {
        var short: [String: Int] = [:]
        _ = try await eventually(timeout: timeout, every: .milliseconds(500)) {
            short = [:]
            for (user, count) in expected {
                var seen: [Int: Int] = [:]
                for seq in try await stub.acceptedSeqs(user: user) { seen[seq, default: 0] += 1 }
                let missing = (0..<count).filter { seen[$0, default: 0] < times }.count
                if missing > 0 { short[user] = missing }
            }
            return short.isEmpty
        }
        try h.require(
            short.isEmpty,
            "events not accepted \(times) times (user: how many): \(short.sorted { $0.key < $1.key }.prefix(10))"
        )
    }
}
