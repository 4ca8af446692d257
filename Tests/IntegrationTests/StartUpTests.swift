import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// No half-started process (relay-spec §8): everything the relay needs is checked before it joins the
/// group, and a failure is a start-up error (exit 2) naming its cause. Each test gives the relay real
/// work (events in the topic, a June stub) and checks that nothing of it was touched.
@Suite("june-relay start-up checks", .serialized)
struct StartUpTests {
    /// The relay's start-up error exit code (relay-spec §8).
    static let startUpError: Int32 = 2
    static let exitBound: Duration = .seconds(5)

    /// Checks the relay consumed nothing: the stub received no request and the group committed nothing.
    static func checkNothingConsumed(_ s: Scenario) async throws {
        let stats = try await s.stub.stats()
        s.h.check(stats.requests == 0, "the stub received requests from a relay that failed its start-up checks: \(stats)")
        let committed = try await s.kafka.committedOffsets(group: s.group, topic: s.topic)
        s.h.check(committed.isEmpty, "group \(s.group) has committed offsets: \(committed)")
    }

    /// Where the line of the listening socket on `port` starts in /proc/net/tcp (bytes), nil if absent.
    static func procNetTCPOffset(ofListeningPort port: Int) -> Int? {
        guard let text = ForeignSocket.readWholeFile("/proc/net/tcp") else { return nil }
        let local = ":" + String(format: "%04X", port)
        var offset = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 3, fields[1].hasSuffix(local), fields[3] == "0A" { return offset }
            offset += line.utf8.count + 1
        }
        return nil
    }

    /// Waits (up to ``exitBound``) for `relay`, started at `begin`, to exit; checks it exited with the
    /// start-up error and returns its stderr. `situation` ends the messages ("with --batch-max-bytes
    /// 20000"); `label` starts the printed line and the exit-code message.
    static func checkStartUpError(
        _ h: Harness, _ relay: ChildProcess, begin: ContinuousClock.Instant, label: String, situation: String
    ) async throws -> String {
        let code = try await relay.waitForExit(timeout: exitBound)
        let took = ContinuousClock.now - begin
        print("\(label): exit \(code.map(String.init) ?? "none") after \(took)")
        try h.require(code != nil, "\(relay.name) still runs \(exitBound) after start \(situation)")
        h.check(code == startUpError, "\(relay.name): exit \(code!), expected \(startUpError)")
        return relay.stderrText
    }

    @Test(.timeLimit(.minutes(1)))
    func takenMetricsPortIsAStartUpErrorNamingThePortAndItsHolder() async throws {
        try await Harness.run("metrics-port-taken") { h in
            let s = try await Scenario.start(h)
            _ = try await s.produceValid(50, users: 5)

            // Something else on the host listens on the port: a plain socket of this test process. The
            // host is busy: /proc/net/tcp is longer than a page and the holder's socket is past the first.
            let crowd = try (0..<300).map { _ in try ListeningSocket() }
            defer { crowd.forEach { $0.close() } }
            var holder = try ListeningSocket()
            for _ in 0..<20 where (Self.procNetTCPOffset(ofListeningPort: holder.port) ?? 0) < 4096 {
                holder = try ListeningSocket()
            }
            try h.require(
                (Self.procNetTCPOffset(ofListeningPort: holder.port) ?? 0) >= 4096,
                "port \(holder.port) is not past the first page of /proc/net/tcp")
            defer { holder.close() }
            let begin = ContinuousClock.now
            let relay = try s.startRelay(writeKey: "k-port", metricsPort: holder.port)
            let output = try await Self.checkStartUpError(
                h, relay, begin: begin, label: "metrics port \(holder.port) taken", situation: "with its metrics port taken")
            h.check(
                output.contains("--metrics-port \(holder.port)"), "the log does not name --metrics-port \(holder.port):\n\(tail(output, lines: 8))")
            h.check(output.contains("pid \(getpid())"), "the log does not name the holder (pid \(getpid())):\n\(tail(output, lines: 8))")
            h.check(!output.contains("Fatal error"), "crashed:\n\(tail(output, lines: 8))")
            try await Self.checkNothingConsumed(s)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func secondRelayOnTheSameMetricsPortExitsAndTheFirstKeepsDelivering() async throws {
        try await Harness.run("metrics-port-twice") { h in
            let s = try await Scenario.start(h)
            var events = TestEvents(topic: s.topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 10)") }
            try await s.kafka.produce(Array(events.records.prefix(100)))

            // Both with the same flags, as two replicas with the default --metrics-port on one host would be.
            let (first, metrics) = try s.startRelayWithMetrics("relay-first", writeKey: "k-twice", RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(100, timeout: .seconds(30))
            let ready = try await eventually(timeout: .seconds(20)) { (try? await metrics.readyzStatus()) == 200 }
            try h.require(ready, "the first relay never became ready")
            let rebalancesBefore = try await metrics.value("relay_rebalances_total") ?? 0

            let begin = ContinuousClock.now
            let second = try s.startRelay("relay-second", writeKey: "k-twice", metricsPort: metrics.port, RelayChecks.fastGroupFlags)
            let output = try await Self.checkStartUpError(
                h, second, begin: begin, label: "second relay on port \(metrics.port)", situation: "on a taken metrics port")
            h.check(
                output.contains("--metrics-port \(metrics.port)"), "the log does not name --metrics-port \(metrics.port):\n\(tail(output, lines: 8))")
            h.check(
                output.contains("pid \(first.pid)"),
                "the log does not name the first relay (pid \(first.pid)) as the holder:\n\(tail(output, lines: 8))")

            // The first relay never saw the second one in its group and keeps delivering.
            try await s.kafka.produce(Array(events.records.dropFirst(100)))
            try await RelayChecks.waitForEveryUser(
                h, stub: s.stub, expected: Dictionary(uniqueKeysWithValues: (0..<10).map { ("user-\($0)", 20) }), timeout: .seconds(60))
            try h.require(first.isRunning, "the first relay exited (\(first.exitCode ?? -1))")
            let rebalancesAfter = try await metrics.value("relay_rebalances_total") ?? 0
            h.check(rebalancesAfter == rebalancesBefore, "the first relay went through rebalances: \(rebalancesBefore) → \(rebalancesAfter)")
            let status = try await metrics.status()
            h.check(status.assignedPartitions == 4, "the first relay holds \(status.assignedPartitions) partitions, expected all 4: \(status)")
            try await s.verifyCleanFinish(stopping: [first], deliverable: events.deliverable, noDuplicates: false)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func batchMaxBytesBelowTheItemLimitIsAStartUpErrorNamingTheFlag() async throws {
        try await Harness.run("batch-max-bytes-floor") { h in
            let s = try await Scenario.start(h)
            // 200 events of about 24 KB: each fits the 32 KB batch item limit, none fits a 20,000-byte batch.
            var events = BatchEvents(topic: s.topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 20)", padding: 24_000) }
            try h.require(events.records.allSatisfy { ($0.value?.count ?? 0) > 24_000 }, "events are not over 24 KB")
            try await s.produce(events)

            let begin = ContinuousClock.now
            let relay = try s.startRelay(writeKey: "k-floor", ["--delivery", "batch", "--batch-max-bytes", "20000"])
            let output = try await Self.checkStartUpError(
                h, relay, begin: begin, label: "--batch-max-bytes 20000", situation: "with --batch-max-bytes 20000")
            h.check(output.contains("--batch-max-bytes"), "stderr does not name --batch-max-bytes:\n\(tail(output, lines: 8))")
            h.check(!output.contains("Fatal error"), "crashed:\n\(tail(output, lines: 8))")
            try await Self.checkNothingConsumed(s)

            // At the floor (32 KB item limit plus the batch envelope, README) the same events are delivered.
            let atFloor = try s.startRelay("relay-floor", writeKey: "k-floor", ["--delivery", "batch", "--batch-max-bytes", "32816"])
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            let stats = try await s.verifyCleanFinish(stopping: [atFloor], deliverable: events.deliverable, noDuplicates: false)
            h.check((stats.batches ?? 0) > 0, "nothing went through /sdk/batch: \(stats)")
        }
    }
}
