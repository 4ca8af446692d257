import Foundation
import Kafka
import Testing

/// While running, if any part of the relay fails, the whole process drains, commits, leaves the group
/// and exits non-zero within `--drain-timeout` + 20 s (relay-spec §8; the drain flags and that bound are
/// ``ShutdownTests``'): a relay that holds partitions with a dead part must be impossible.
@Suite("june-relay a failing service stops the process", .serialized)
struct ServiceFailureTests {
    /// The metrics server fails at run time: its listening socket is shut down from outside
    /// (``ForeignSocket``), so its server channel closes while the pipeline delivers.
    ///
    /// Periodic commits are off (`--commit-interval 3600`), so offsets in the group can only come from the
    /// relay's shutdown, and a second relay in the group then resends nothing the first one delivered.
    @Test(.timeLimit(.minutes(2)))
    func metricsServerFailingWhileRunningDrainsCommitsLeavesAndExitsNonZero() async throws {
        try await Harness.run("metrics-server-fails") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "300"])
            let events = try await s.produceValid(400, users: 20)

            let (relay, metrics) = try s.startRelayWithMetrics(
                writeKey: "k-fails",
                ShutdownTests.drainFlags + ["--commit-interval", "3600", "--log-level", "debug", "--kafka-config", "debug=cgrp"]
                    + RelayChecks.fastGroupFlags
            )
            let ready = try await eventually(timeout: .seconds(30)) { (try? await metrics.readyzStatus()) == 200 }
            try h.require(ready, "the relay never became ready")
            try await s.waitForAccepted(40, timeout: .seconds(30))

            let begin = ContinuousClock.now
            try ForeignSocket.shutDownListeningSocket(pid: relay.pid, port: metrics.port)
            let code = try await relay.waitForExit(timeout: ShutdownTests.exitBound)
            let took = ContinuousClock.now - begin
            let acceptedAtExit = try await s.stub.stats()
            print("metrics server failed: exit \(code.map(String.init) ?? "none") after \(took); stub: \(acceptedAtExit)")
            try h.require(code != nil, "the relay still runs \(ShutdownTests.exitBound) after its metrics server failed")
            h.check(code != 0, "the relay exited 0 after its metrics server failed")
            let output = relay.stderrText
            h.check(output.contains("metrics server"), "the log does not say the metrics server failed:\n\(tail(output, lines: 12))")
            h.check(output.contains("Pipeline stopped"), "the pipeline did not shut down:\n\(tail(output, lines: 12))")
            h.check(!output.contains("Fatal error"), "crashed:\n\(tail(output, lines: 12))")
            h.check(acceptedAtExit.uniqueAccepted < events.deliverable, "everything was delivered before the failure: the test proves nothing")

            // Committed at shutdown: a relay in the same group resends nothing the first one delivered.
            let committed = try await s.kafka.committedOffsets(group: s.group, topic: s.topic)
            h.check(!committed.isEmpty, "the failing relay committed nothing")
            // Left the group: librdkafka's group log (debug=cgrp) shows the LeaveGroup request answered.
            // (The dev broker cannot show it: after a leave it holds the group in a rebalance for about the
            // member's session timeout, so a new member's join takes as long either way.)
            let leaveLines = output.split(separator: "\n").filter { $0.contains("LeaveGroup") }
            print("LeaveGroup lines:\n" + leaveLines.suffix(4).joined(separator: "\n"))
            h.check(!leaveLines.isEmpty, "the failing relay did not leave the group:\n\(tail(output, lines: 12))")

            let next = try s.startRelay("relay-next", writeKey: "k-fails", RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            let stats = try await s.verifyCleanFinish(stopping: [next], deliverable: events.deliverable, noDuplicates: false)
            h.check(stats.duplicates == 0, "events delivered twice: the failing relay did not drain and commit what it delivered: \(stats)")
        }
    }
}
