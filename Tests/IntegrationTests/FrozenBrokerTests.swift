import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A broker that stops answering for longer than the commit timeout and the group session (SIGSTOP on
/// the dev-broker process, like a long GC pause or a network partition), then comes back: the relay
/// keeps running, delivers every event in per-user order, and ends with the group's offsets at the end
/// of the topic. (The commit that timed out during the freeze waits on its open connection and is
/// answered first when the broker resumes; a commit that lands after a newer one needs a coordinator
/// that refuses connections, which `KafkaConsumerGroupTests` and `OffsetTrackerTests` cover.)
@Suite("june-relay with a frozen broker")
struct FrozenBrokerTests {
    @Test(.timeLimit(.minutes(3)))
    func frozenBrokerLosesNothingAndEndsWithNoLag() async throws {
        try await Harness.run("frozen-broker") { h in
            // 20 users at 100 ms each: ~200 events/s, so the 3,000 events are still streaming when the freeze starts.
            let s = try await Scenario.start(h, stub: ["--latency-ms", "100"])
            let events = try await s.produceValid(3_000, users: 20)

            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-frozen", RelayChecks.fastGroupFlags)
            try await s.waitForAccepted(200, timeout: .seconds(60))

            // 20 s: longer than the 10 s commit timeout and the 6 s session.
            s.broker.signal(SIGSTOP)
            try await Task.sleep(for: .seconds(20))
            s.broker.signal(SIGCONT)
            let failures = try await metrics.value("relay_commit_failures_total") ?? 0
            h.check(relay.isRunning, "the relay exited while the broker was frozen (exit \(relay.exitCode ?? -1))")
            print("frozen broker: \(failures) commit failures during the 20 s freeze")

            let final = try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            // While the relay runs, the group's offsets reach the end of the topic and stay there.
            let end = try await s.kafka.endOffsets(of: s.topic)
            var committed: [KafkaTopicPartition: Int64] = [:]
            func caughtUp() async throws -> Bool {
                committed = try await s.kafka.committedOffsets(group: s.group, topic: s.topic)
                return end.allSatisfy { partition, high in high == 0 || committed[partition] == high }
            }
            let reached = try await eventually(timeout: .seconds(40)) { try await caughtUp() }
            h.check(reached, "committed \(committed), end offsets \(end) after delivery: \(final)")
            try await Task.sleep(for: .seconds(5))
            let stayed = try await caughtUp()
            h.check(stayed, "5 s later: committed \(committed), end offsets \(end)")
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable, noDuplicates: false)
            print("frozen broker: \(stats)")
        }
    }
}
