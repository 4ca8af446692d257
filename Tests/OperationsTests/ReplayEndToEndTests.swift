import Foundation
import Testing

/// The built binary end to end: `dev-broker` and `june-stub` processes, a relay that handles 200 events
/// and stops, `offsets reset --to-earliest` (refused while the relay runs, done after it stopped), and a
/// relay started after the reset that delivers the same events again (the stub counts them
/// again).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ReplayEndToEndTests {
    static let events = 200

    @Test func relayReplaysFromResetOffsets() async throws {
        try await Harness.run("replay") { h in
            let brokers = try await h.startBroker(topics: ["events", "events.dlq"], partitions: 2, extraArguments: ["--brokers", "1"])
            let stub = try await h.startStub()
            let group = "replay-e2e"
            let tool = ["--brokers", brokers, "--group", group, "--topic", "events", "--timeout", "20"]

            let produced = try await h.runTool([
                "dev-produce", "--brokers", brokers, "--topic", "events", "--events", "\(Self.events)", "--users", "20",
            ])
            try #require(produced.status == 0, "dev-produce: \(produced.stderr)")

            func startRelay(_ name: String) throws -> ChildProcess {
                try h.startRelay(
                    name: name, brokers: brokers, topic: "events", group: group, juneURL: stub.baseURL, writeKey: "e2e-key",
                    extraArguments: [
                        "--commit-interval", "0.2", "--kafka-config", "session.timeout.ms=6000", "--kafka-config", "heartbeat.interval.ms=500",
                    ]
                )
            }

            var relay: ChildProcess? = try startRelay("relay-1")
            // Everything committed (delivered or dead-lettered), then what June got the first time.
            try await Self.waitForLag(h, tool: tool, lag: 0)
            let first = try await Self.waitForStub(stub, process: relay) { $0.accepted > 0 }
            #expect(first.accepted >= Self.events / 2)

            // While the relay is a member, a reset is refused and changes nothing.
            let refused = try await h.runTool(["offsets", "reset"] + tool + ["--to-earliest"])
            #expect(refused.status == 1, "refused, not crashed: \(refused.stderr.suffix(2_000))")
            #expect(refused.stderr.contains("active members"), "\(refused.stderr)")
            #expect(!refused.stdout.contains("committed new offsets"))

            #expect(try await relay?.terminate() == 0)
            relay = nil
            try await Self.waitForLag(h, tool: tool, lag: 0)

            let dryRun = try await h.runTool(["offsets", "reset"] + tool + ["--to-earliest", "--dry-run"])
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("dry run: nothing committed"))
            let unchanged = try await h.runTool(["offsets", "show"] + tool)
            #expect(unchanged.stdout.contains("total lag: 0"), "\(unchanged.stdout)")

            let reset = try await h.runTool(["offsets", "reset"] + tool + ["--to-earliest"])
            #expect(reset.status == 0, "\(reset.stderr)")
            #expect(reset.stdout.contains("committed new offsets for 2 partitions"), "\(reset.stdout)")
            let shown = try await h.runTool(["offsets", "show"] + tool)
            #expect(shown.stdout.contains("total lag: \(Self.events)"), "\(shown.stdout)")

            relay = try startRelay("relay-2")
            // The replayed events reach the stub again: twice as many of each type as after the first run.
            // (Not through the stub's `duplicates`: it only counts events whose seq it can read.)
            let stats = try await Self.waitForStub(stub, process: relay) { $0.accepted >= 2 * first.accepted }
            #expect(stats.accepted == 2 * first.accepted)
            #expect(stats.byType == first.byType.mapValues { 2 * $0 })
            #expect(stats.orderViolations == 0)
            try await Self.waitForLag(h, tool: tool, lag: 0)
            #expect(try await relay?.terminate() == 0)
        }
    }

    @discardableResult
    static func waitForStub(
        _ stub: StubClient,
        process: ChildProcess?,
        timeout: Duration = .seconds(90),
        until done: (StubStats) -> Bool
    ) async throws -> StubStats {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last: StubStats?
        while ContinuousClock.now < deadline {
            if let stats = try? await stub.stats() {
                last = stats
                if done(stats) { return stats }
            }
            if let process, !process.isRunning {
                throw ChildProcessError("relay exited early: \(process.stderrText.suffix(3_000))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ChildProcessError(
            "stub never reached the expected count; last: \(String(describing: last)); relay stderr: \(process?.stderrText.suffix(3_000) ?? "")"
        )
    }

    static func waitForLag(_ h: Harness, tool: [String], lag: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last = ""
        while ContinuousClock.now < deadline {
            let shown = try await h.runTool(["offsets", "show"] + tool)
            last = shown.stdout + shown.stderr
            if shown.status == 0, shown.stdout.contains("total lag: \(lag)\n") { return }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw ChildProcessError("lag never reached \(lag): \(last)")
    }
}
