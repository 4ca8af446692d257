import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Checks shared by the scenarios.
enum RelayChecks {
    /// Consumer settings for tests that kill or add relays (a dead member stalls the next
    /// rebalance for its whole session timeout).
    static let fastGroupFlags = [
        "--kafka-config", "session.timeout.ms=6000", "--kafka-config", "heartbeat.interval.ms=1000",
    ]

    /// Sends SIGTERM and checks the relay exits 0 within the drain time (docs/design.md, "Offsets").
    static func stopGracefully(_ h: Harness, _ relay: ChildProcess, timeout: Duration = .seconds(30)) async throws {
        relay.signal(SIGTERM)
        let code = try await relay.waitForExit(timeout: timeout)
        h.check(code == 0, "\(relay.name) exit code after SIGTERM: \(code.map(String.init) ?? "still running after \(timeout)")")
    }

    /// Checks the stub accepted every deliverable event at least once and never out of per-user order;
    /// returns its stats for further checks.
    static func checkEverythingDelivered(_ h: Harness, stub: StubClient, deliverable: Int) async throws -> StubStats {
        let stats = try await stub.stats()
        h.check(stats.uniqueAccepted == deliverable, "uniqueAccepted \(stats.uniqueAccepted) != deliverable \(deliverable): \(stats)")
        h.check(stats.orderViolations == 0, "order violations: \(stats)")
        return stats
    }

    /// Checks the group's committed offsets equal the topic's end offsets (lag 0) for every partition
    /// that holds records.
    static func checkNoLag(_ h: Harness, kafka: KafkaTestClient, group: String, topic: String) async throws {
        let end = try await kafka.endOffsets(of: topic)
        let committed = try await kafka.committedOffsets(group: group, topic: topic)
        for (partition, high) in end.sorted(by: { $0.key < $1.key }) where high > 0 {
            h.check(
                committed[partition] == high,
                "\(partition): committed \(committed[partition].map(String.init) ?? "none"), end offset \(high)"
            )
        }
    }

    /// Waits until the stub accepted `count` distinct events; returns the last stats.
    static func waitForUniqueAccepted(
        _ h: Harness,
        stub: StubClient,
        count: Int,
        timeout: Duration
    ) async throws -> StubStats {
        var last = try await stub.stats()
        let reached = try await eventually(timeout: timeout) {
            last = try await stub.stats()
            return last.uniqueAccepted >= count
        }
        try h.require(reached, "stub accepted \(last.uniqueAccepted) distinct events of \(count) within \(timeout): \(last)")
        return last
    }

    /// Waits until the topic holds `count` records.
    static func waitForRecords(
        _ h: Harness,
        kafka: KafkaTestClient,
        topic: String,
        count: Int,
        timeout: Duration
    ) async throws {
        var last: Int64 = 0
        let reached = try await eventually(timeout: timeout) {
            last = try await kafka.recordCount(of: topic)
            return last >= Int64(count)
        }
        try h.require(reached, "\(topic) holds \(last) records, expected \(count) within \(timeout)")
    }

    /// The partitions `relay` released by a revoke whose commit failed (the log line "Offset commit
    /// failed" with `commit.operation=revoke` after "Partitions revoked: draining"): their next owner
    /// re-does what was done since their last commit. Empty when every revoke commit was made.
    static func partitionsWithFailedRevokeCommit(_ relay: ChildProcess) -> Set<Int32> {
        partitionsWithFailedRevokeCommit(log: relay.stderrText)
    }

    /// ``partitionsWithFailedRevokeCommit(_:)`` of a relay's stderr text.
    static func partitionsWithFailedRevokeCommit(log: String) -> Set<Int32> {
        var released: Set<Int32> = []
        var failed: Set<Int32> = []
        for line in log.split(separator: "\n") {
            if line.contains("Partitions revoked: draining") {
                released = partitionsField(of: line)
            } else if line.contains("Offset commit failed"), line.contains("commit.operation=revoke") {
                failed.formUnion(released)
            }
        }
        return failed
    }

    /// The partition numbers of a log line's `kafka.partitions=topic[0],topic[1]` field.
    private static func partitionsField(of line: Substring) -> Set<Int32> {
        let prefix = "kafka.partitions="
        guard let field = line.split(separator: " ").first(where: { $0.hasPrefix(prefix) }) else { return [] }
        return Set(
            field.dropFirst(prefix.count).split(separator: ",").compactMap { name in
                name.split(separator: "[").last.flatMap { Int32($0.dropLast()) }
            })
    }

    /// Checks the write key appears in none of the relay's output (README: the write key is never logged).
    static func checkWriteKeyNotLogged(_ h: Harness, _ relay: ChildProcess, writeKey: String) {
        h.check(!relay.stdoutText.contains(writeKey), "\(relay.name) printed the write key on stdout")
        h.check(!relay.stderrText.contains(writeKey), "\(relay.name) printed the write key on stderr")
    }
}
