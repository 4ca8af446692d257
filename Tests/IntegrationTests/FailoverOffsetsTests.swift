import Foundation
import Kafka
import Testing

/// A disaster-recovery failover as MirrorMaker 2's group-offset sync does it: the group's committed
/// offset is rewritten lower (by 45 here) and its metadata string kept. The relay must not trust done
/// ranges written for another offset: the restarted relay takes up every record from the rewritten
/// offset, above all the stuck user's undelivered ones, and skips nothing (docs/design.md, Offsets).
@Suite("june-relay failover with moved offsets", .serialized, .timeLimit(.minutes(4)))
struct FailoverOffsetsTests {
    static let stuckUser = "stub-fail-mm2"
    /// Offsets of the stuck user's events: 100, 110, …, 200 (11 events); 300 records in all.
    static let stuckOffsets = Set(stride(from: 100, through: 200, by: 10))
    static let total = 300
    static let moved: Int64 = 45
    static let relayFlags = ["--retry-budget", "0", "--commit-interval", "0.2"] + RelayChecks.fastGroupFlags

    @Test func metadataKeptWithALowerOffsetIsIgnoredAndNothingIsSkipped() async throws {
        try await Harness.run("failover-offsets") { h in
            let s = try await Scenario.start(h, partitions: 1)
            let events = TestEvents.withStuckUser(Self.stuckUser, at: Self.stuckOffsets, total: Self.total, users: 30, topic: s.topic)
            try await s.produceToPartitionZero(events)
            let tp = KafkaTopicPartition(topic: s.topic, partition: 0)

            // The first relay delivers everything but the stuck user, and commits 100 with done ranges above.
            let metadata = try await Self.deliverAllButTheStuckUser(s, events, tp)

            // The failover: offset 45 lower, same metadata, committed by a group member (the dev broker
            // refuses standalone commits for a group that had members).
            let member = try await s.kafka.joinedMember(group: s.group, topic: s.topic, partitions: 1)
            try await member.commit([tp: KafkaOffsetCommit(offset: 100 - Self.moved, metadata: metadata)])
            try await member.close()
            let before = try await s.stub.stats()

            let (second, metrics) = try s.startRelayWithMetrics("relay-2", writeKey: "k-failover", Self.relayFlags)
            // Every deliverable record from 55 on is sent again (45 below the stuck offset, 189 above it) ...
            let resentExpected = Self.total - Int(100 - Self.moved) - Self.stuckOffsets.count
            let resent = try await eventually(timeout: .seconds(60)) {
                try await s.stub.stats().duplicates - before.duplicates >= resentExpected
            }
            let after = try await s.stub.stats()
            h.check(resent, "re-sent \(after.duplicates - before.duplicates) of \(resentExpected): \(after)")
            // ... and every one of the stuck user's 11 events is taken up again: all unfinished now.
            try await s.checkStuckEventsTakenUpAndNothingSkipped(metrics, stuckEvents: Self.stuckOffsets.count, "after the failover")
            let ignored = try await metrics.value("relay_commit_metadata_ignored_total", labels: ["reason": "base-mismatch"])
            h.check(ignored == 1, "ignored metadata counted once: \(String(describing: ignored))")
            h.check(after.orderViolations == 0, "order: \(after)")
            h.check(second.stderrText.contains("Commit metadata ignored"), "the ignored metadata is logged")

            // The new commit is back at the stuck offset, with metadata written for it.
            let (committedAgain, final) = try await s.waitForCommit(of: tp, timeout: .seconds(20)) {
                $0?.offset == 100 && $0.map { $0.metadata.hasPrefix("jr2:0:100:") } == true
            }
            h.check(committedAgain, "committed \(String(describing: final))")
            try await RelayChecks.stopGracefully(h, second)
        }
    }

    /// The first relay delivers every deliverable event and commits 100 (the stuck user's first offset)
    /// with done ranges above it; it is stopped then. Returns that commit's metadata.
    static func deliverAllButTheStuckUser(_ s: Scenario, _ events: TestEvents, _ tp: KafkaTopicPartition) async throws -> String {
        let (first, _) = try s.startRelayWithMetrics("relay-1", writeKey: "k-failover", relayFlags)
        try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
        let (recorded, stored) = try await s.waitForCommit(of: tp, timeout: .seconds(20)) {
            $0?.offset == 100 && !($0?.metadata.isEmpty ?? true)
        }
        try s.h.require(recorded, "committed 100 with done ranges: \(String(describing: stored))")
        try await RelayChecks.stopGracefully(s.h, first)
        return try #require(stored).metadata
    }
}
