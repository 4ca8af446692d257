import Foundation
import Kafka
import Testing

/// The replay flow of docs/operations.md with the built binary, `dev-broker` and `june-stub` as
/// processes: stop the relays (SIGTERM), move the group's offsets back, start a relay, and every
/// event reaches June again.
///
/// - A relay with the default group settings, stopped by SIGTERM, and `offsets reset --to-earliest`
///   at once: the reset succeeds within 10 s (the relay left the group; on the dev broker the relay
///   also shortens its group session, see `Relay.shortenGroupSession`), and the next relay replays
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
            let (topic, _, group, brokers, stub, kafka) = try await h.scenario()
            var events = TestEvents(topic: topic)
            for index in 0..<80 { events.valid(user: "user-\(index % 8)") }
            try await kafka.produce(events.records)
            let expected = Self.perUser(events, users: 8)

            // Default group settings on purpose: this is the flow an operator runs.
            let first = try h.startRelay(
                name: "relay-1", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-replay",
                extraArguments: ["--commit-interval", "0.2"]
            )
            try await RelayChecks.waitForEveryUser(h, stub: stub, expected: expected, timeout: .seconds(60))
            let committed = try await eventually(timeout: .seconds(20)) {
                try await Self.lagIsZero(kafka, group: group, topic: topic)
            }
            try h.require(committed, "the first relay committed everything")
            try await RelayChecks.stopGracefully(h, first)

            let started = ContinuousClock.now
            let reset = try await h.runTool(
                ["offsets", "reset", "--brokers", brokers, "--group", group, "--topic", topic, "--to-earliest", "--timeout", "60"],
                timeout: .seconds(70)
            )
            let elapsed = ContinuousClock.now - started
            try h.require(reset.status == 0, "offsets reset exit \(reset.status) after \(elapsed): \(reset.stderr.suffix(2_000))")
            h.check(elapsed < .seconds(10), "offsets reset right after SIGTERM took \(elapsed), expected under 10 s")
            h.check(reset.stdout.contains("committed new offsets"), "\(reset.stdout)")
            let afterReset = try await kafka.committedOffsets(group: group, topic: topic)
            h.check(afterReset.values.allSatisfy { $0 == 0 } && !afterReset.isEmpty, "committed after the reset: \(afterReset)")

            let second = try h.startRelay(
                name: "relay-2", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-replay",
                extraArguments: ["--commit-interval", "0.2"]
            )
            try await Self.waitForEveryEvent(h, stub: stub, expected: expected, times: 2, timeout: .seconds(40))
            try await RelayChecks.stopGracefully(h, second)
        }
    }

    /// One partition: 120 records, the stuck user's at offsets 20, 40, 60 (June answers 503 forever),
    /// the others from 6 users. The first relay delivers all but the stuck user's, so it commits 20
    /// with done ranges above it (jr2 metadata).
    static let stuckUser = "stub-fail-replay"
    static let stuckOffsets: Set<Int> = [20, 40, 60]
    static let total = 120

    @Test(arguments: Rewind.allCases)
    func rewindAfterDoneRangesReplaysEveryEvent(_ rewind: Rewind) async throws {
        try await Harness.run("replay-done-ranges") { h in
            let topic = uniqueName("events")
            let brokers = try await h.startBroker(topics: [topic, topic + ".dlq"], partitions: 1)
            let stub = try await h.startStub()
            let kafka = KafkaTestClient(bootstrapServers: brokers)
            let group = uniqueName("relay")
            let tp = KafkaTopicPartition(topic: topic, partition: 0)
            var events = TestEvents(topic: topic)
            for offset in 0..<Self.total {
                if Self.stuckOffsets.contains(offset) {
                    events.valid(user: Self.stuckUser, deliverable: false)
                } else {
                    events.valid(user: "user-\(offset % 6)")
                }
            }
            try await kafka.produceInOrder(
                events.records.map {
                    var record = $0; record.partition = 0; return record
                }, properties: [:])
            let expected = Self.perUser(events, users: 6)
            func startRelay(_ name: String, port: Int) throws -> ChildProcess {
                try h.startRelay(
                    name: name, brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-replay",
                    metricsPort: port, extraArguments: ["--retry-budget", "0", "--commit-interval", "0.2"]
                )
            }

            let first = try startRelay("relay-1", port: try Harness.freePort())
            try await RelayChecks.waitForEveryUser(h, stub: stub, expected: expected, timeout: .seconds(60))
            var stored: KafkaOffsetCommit?
            let ranges = try await eventually(timeout: .seconds(20)) {
                stored = try await kafka.committedWithMetadata(group: group, partition: tp)
                return stored?.offset == 20 && stored.map { $0.metadata.hasPrefix("jr2:0:20:") } == true
            }
            try h.require(ranges, "committed 20 with done ranges: \(String(describing: stored))")
            try await RelayChecks.stopGracefully(h, first)

            switch rewind {
            case .thirdPartyCommit:
                // Any client may rewind the group, e.g. kafka-consumer-groups or an application: a plain
                // commit, no metadata. (A member's commit: the dev broker refuses standalone commits for a
                // group that had members.)
                let member = try await kafka.joinedMember(group: group, topic: topic, partitions: 1, timeout: .seconds(30))
                try await member.commit([tp: 0])
                try await member.close()
            case .offsetsReset:
                let reset = try await h.runTool(
                    ["offsets", "reset", "--brokers", brokers, "--group", group, "--topic", topic, "--to-earliest"], timeout: .seconds(45)
                )
                try h.require(reset.status == 0, "offsets reset exit \(reset.status): \(reset.stderr.suffix(2_000))")
            }
            let rewound = try await kafka.committedWithMetadata(group: group, partition: tp)
            try h.require(rewound?.offset == 0 && rewound?.metadata.isEmpty == true, "rewound to 0 without metadata: \(String(describing: rewound))")

            let port = try Harness.freePort()
            let second = try startRelay("relay-2", port: port)
            let metrics = MetricsClient(port: port)
            // Every deliverable event reaches June a second time ...
            try await Self.waitForEveryEvent(h, stub: stub, expected: expected, times: 2, timeout: .seconds(40))
            // ... every one of the stuck user's events is taken up again, and nothing was skipped.
            var status: RelayStatus?
            let holdsStuck = try await eventually(timeout: .seconds(20)) {
                status = try await metrics.status()
                return status?.buffered == Self.stuckOffsets.count
            }
            h.check(holdsStuck, "the stuck user's \(Self.stuckOffsets.count) events are unfinished again: \(String(describing: status))")
            let skipped = try await metrics.value("relay_records_skipped_total", labels: [:]) ?? 0
            h.check(skipped == 0, "records skipped after the rewind: \(skipped)")
            let stats = try await stub.stats()
            h.check(stats.orderViolations == 0, "order: \(stats)")
            try await RelayChecks.stopGracefully(h, second)
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
