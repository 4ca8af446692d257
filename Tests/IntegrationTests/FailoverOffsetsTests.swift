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

    @Test func metadataKeptWithALowerOffsetIsIgnoredAndNothingIsSkipped() async throws {
        try await Harness.run("failover-offsets") { h in
            let topic = uniqueName("events")
            let brokers = try await h.startBroker(topics: [topic, topic + ".dlq"], partitions: 1)
            let stub = try await h.startStub()
            let kafka = KafkaTestClient(bootstrapServers: brokers)
            var events = TestEvents(topic: topic)
            for offset in 0..<Self.total {
                if Self.stuckOffsets.contains(offset) {
                    events.valid(user: Self.stuckUser, deliverable: false)
                } else {
                    events.valid(user: "user-\(offset % 30)")
                }
            }
            try await kafka.produceInOrder(
                events.records.map {
                    var record = $0; record.partition = 0; return record
                }, properties: [:])
            let group = uniqueName("relay")
            let tp = KafkaTopicPartition(topic: topic, partition: 0)
            func startRelay(_ name: String, port: Int) throws -> ChildProcess {
                try h.startRelay(
                    name: name, brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-failover",
                    metricsPort: port, extraArguments: ["--retry-budget", "0", "--commit-interval", "0.2"] + RelayChecks.fastGroupFlags
                )
            }

            // The first relay delivers everything but the stuck user, and commits 100 with done ranges above.
            let first = try startRelay("relay-1", port: try Harness.freePort())
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            var stored: KafkaOffsetCommit?
            let recorded = try await eventually(timeout: .seconds(20)) {
                stored = try await kafka.committedWithMetadata(group: group, partition: tp)
                return stored?.offset == 100 && !(stored?.metadata.isEmpty ?? true)
            }
            try h.require(recorded, "committed 100 with done ranges: \(String(describing: stored))")
            try await RelayChecks.stopGracefully(h, first)
            let metadata = try #require(stored).metadata

            // The failover: offset 45 lower, same metadata, committed by a group member (the dev broker
            // refuses standalone commits for a group that had members).
            let member = try await kafka.joinedMember(group: group, topic: topic, partitions: 1)
            try await member.commit([tp: KafkaOffsetCommit(offset: 100 - Self.moved, metadata: metadata)])
            try await member.close()
            let before = try await stub.stats()

            let port = try Harness.freePort()
            let second = try startRelay("relay-2", port: port)
            let metrics = MetricsClient(port: port)
            // Every deliverable record from 55 on is sent again (45 below the stuck offset, 189 above it) ...
            let resentExpected = Self.total - Int(100 - Self.moved) - Self.stuckOffsets.count
            let resent = try await eventually(timeout: .seconds(60)) {
                try await stub.stats().duplicates - before.duplicates >= resentExpected
            }
            let after = try await stub.stats()
            h.check(resent, "re-sent \(after.duplicates - before.duplicates) of \(resentExpected): \(after)")
            // ... and every one of the stuck user's 11 events is taken up again: all unfinished now.
            var status: RelayStatus?
            let holdsStuck = try await eventually(timeout: .seconds(20)) {
                status = try await metrics.status()
                return status?.buffered == Self.stuckOffsets.count
            }
            h.check(holdsStuck, "the stuck user's \(Self.stuckOffsets.count) events are unfinished: \(String(describing: status))")
            let skipped = try await metrics.value("relay_records_skipped_total", labels: [:]) ?? 0
            h.check(skipped == 0, "records skipped: \(skipped)")
            let ignored = try await metrics.value("relay_commit_metadata_ignored_total", labels: ["reason": "base-mismatch"])
            h.check(ignored == 1, "ignored metadata counted once: \(String(describing: ignored))")
            h.check(after.orderViolations == 0, "order: \(after)")
            h.check(second.stderrText.contains("Commit metadata ignored"), "the ignored metadata is logged")

            // The new commit is back at the stuck offset, with metadata written for it.
            var final: KafkaOffsetCommit?
            let committedAgain = try await eventually(timeout: .seconds(20)) {
                final = try await kafka.committedWithMetadata(group: group, partition: tp)
                return final?.offset == 100 && final.map { $0.metadata.hasPrefix("jr2:0:100:") } == true
            }
            h.check(committedAgain, "committed \(String(describing: final))")
            try await RelayChecks.stopGracefully(h, second)
        }
    }
}
