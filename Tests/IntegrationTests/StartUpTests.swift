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
    static func checkNothingConsumed(_ h: Harness, stub: StubClient, kafka: KafkaTestClient, group: String, topic: String) async throws {
        let stats = try await stub.stats()
        h.check(stats.requests == 0, "the stub received requests from a relay that failed its start-up checks: \(stats)")
        let committed = try await kafka.committedOffsets(group: group, topic: topic)
        h.check(committed.isEmpty, "group \(group) has committed offsets: \(committed)")
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

    @Test(.timeLimit(.minutes(1)))
    func takenMetricsPortIsAStartUpErrorNamingThePortAndItsHolder() async throws {
        try await Harness.run("metrics-port-taken") { h in
            let (topic, _, group, brokers, stub, kafka) = try await h.scenario()
            var events = TestEvents(topic: topic)
            for index in 0..<50 { events.valid(user: "user-\(index % 5)") }
            try await kafka.produce(events.records)

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
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-port",
                metricsPort: holder.port
            )
            let code = try await relay.waitForExit(timeout: Self.exitBound)
            let took = ContinuousClock.now - begin
            print("metrics port \(holder.port) taken: exit \(code.map(String.init) ?? "none") after \(took)")
            try h.require(code != nil, "the relay still runs \(Self.exitBound) after start with its metrics port taken")
            h.check(code == Self.startUpError, "exit \(code!), expected \(Self.startUpError)")
            let output = relay.stderrText
            h.check(
                output.contains("--metrics-port \(holder.port)"), "the log does not name --metrics-port \(holder.port):\n\(tail(output, lines: 8))")
            h.check(output.contains("pid \(getpid())"), "the log does not name the holder (pid \(getpid())):\n\(tail(output, lines: 8))")
            h.check(!output.contains("Fatal error"), "crashed:\n\(tail(output, lines: 8))")
            try await Self.checkNothingConsumed(h, stub: stub, kafka: kafka, group: group, topic: topic)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func secondRelayOnTheSameMetricsPortExitsAndTheFirstKeepsDelivering() async throws {
        try await Harness.run("metrics-port-twice") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()
            var events = TestEvents(topic: topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 10)") }
            let firstHalf = Array(events.records.prefix(100))
            let secondHalf = Array(events.records.dropFirst(100))
            try await kafka.produce(firstHalf)

            // Both with the same flags, as two replicas with the default --metrics-port on one host would be.
            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let first = try h.startRelay(
                name: "relay-first", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-twice",
                metricsPort: port, extraArguments: RelayChecks.fastGroupFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 100, timeout: .seconds(30))
            let ready = try await eventually(timeout: .seconds(20)) { (try? await metrics.readyzStatus()) == 200 }
            try h.require(ready, "the first relay never became ready")
            let rebalancesBefore = try await metrics.value("relay_rebalances_total") ?? 0

            let begin = ContinuousClock.now
            let second = try h.startRelay(
                name: "relay-second", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-twice",
                metricsPort: port, extraArguments: RelayChecks.fastGroupFlags
            )
            let code = try await second.waitForExit(timeout: Self.exitBound)
            let took = ContinuousClock.now - begin
            print("second relay on port \(port): exit \(code.map(String.init) ?? "none") after \(took)")
            try h.require(code != nil, "the second relay still runs \(Self.exitBound) after start on a taken metrics port")
            h.check(code == Self.startUpError, "second relay: exit \(code!), expected \(Self.startUpError)")
            let output = second.stderrText
            h.check(output.contains("--metrics-port \(port)"), "the log does not name --metrics-port \(port):\n\(tail(output, lines: 8))")
            h.check(
                output.contains("pid \(first.pid)"),
                "the log does not name the first relay (pid \(first.pid)) as the holder:\n\(tail(output, lines: 8))")

            // The first relay never saw the second one in its group and keeps delivering.
            try await kafka.produce(secondHalf)
            try await RelayChecks.waitForEveryUser(
                h, stub: stub, expected: Dictionary(uniqueKeysWithValues: (0..<10).map { ("user-\($0)", 20) }), timeout: .seconds(60))
            try h.require(first.isRunning, "the first relay exited (\(first.exitCode ?? -1))")
            let rebalancesAfter = try await metrics.value("relay_rebalances_total") ?? 0
            h.check(rebalancesAfter == rebalancesBefore, "the first relay went through rebalances: \(rebalancesBefore) → \(rebalancesAfter)")
            let status = try await metrics.status()
            h.check(status.assignedPartitions == 4, "the first relay holds \(status.assignedPartitions) partitions, expected all 4: \(status)")
            try await RelayChecks.verifyCleanFinish(
                h, stopping: [first], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func batchMaxBytesBelowTheItemLimitIsAStartUpErrorNamingTheFlag() async throws {
        try await Harness.run("batch-max-bytes-floor") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()
            // 200 events of about 24 KB: each fits the 32 KB batch item limit, none fits a 20,000-byte batch.
            var events = BatchEvents(topic: topic)
            for index in 0..<200 { events.valid(user: "user-\(index % 20)", padding: 24_000) }
            try h.require(events.records.allSatisfy { ($0.value?.count ?? 0) > 24_000 }, "events are not over 24 KB")
            try await kafka.produce(events.records)

            let begin = ContinuousClock.now
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-floor",
                extraArguments: ["--delivery", "batch", "--batch-max-bytes", "20000"]
            )
            let code = try await relay.waitForExit(timeout: Self.exitBound)
            let took = ContinuousClock.now - begin
            print("--batch-max-bytes 20000: exit \(code.map(String.init) ?? "none") after \(took)")
            try h.require(code != nil, "the relay still runs \(Self.exitBound) after start with --batch-max-bytes 20000")
            h.check(code == Self.startUpError, "exit \(code!), expected \(Self.startUpError)")
            let output = relay.stderrText
            h.check(output.contains("--batch-max-bytes"), "stderr does not name --batch-max-bytes:\n\(tail(output, lines: 8))")
            h.check(!output.contains("Fatal error"), "crashed:\n\(tail(output, lines: 8))")
            try await Self.checkNothingConsumed(h, stub: stub, kafka: kafka, group: group, topic: topic)

            // At the floor (32 KB item limit plus the batch envelope, README) the same events are delivered.
            let atFloor = try h.startRelay(
                name: "relay-floor", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-floor",
                extraArguments: ["--delivery", "batch", "--batch-max-bytes", "32816"]
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [atFloor], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            h.check((stats.batches ?? 0) > 0, "nothing went through /sdk/batch: \(stats)")
        }
    }
}
