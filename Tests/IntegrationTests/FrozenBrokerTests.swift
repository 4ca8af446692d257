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
            let (topic, dlq, group, broker, brokers, stub, kafka) = try await h.scenarioWithBrokerProcess(["--latency-ms", "100"])
            var events = TestEvents(topic: topic)
            for index in 0..<3_000 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(events.records)

            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-frozen",
                metricsPort: port, extraArguments: RelayChecks.fastGroupFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 200, timeout: .seconds(60))

            // 20 s: longer than the 10 s commit timeout and the 6 s session.
            broker.signal(SIGSTOP)
            try await Task.sleep(for: .seconds(20))
            broker.signal(SIGCONT)
            let failures = try await metrics.value("relay_commit_failures_total") ?? 0
            h.check(relay.isRunning, "the relay exited while the broker was frozen (exit \(relay.exitCode ?? -1))")
            print("frozen broker: \(failures) commit failures during the 20 s freeze")

            let final = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            // While the relay runs, the group's offsets reach the end of the topic and stay there.
            let end = try await kafka.endOffsets(of: topic)
            var committed: [KafkaTopicPartition: Int64] = [:]
            func caughtUp() async throws -> Bool {
                committed = try await kafka.committedOffsets(group: group, topic: topic)
                return end.allSatisfy { partition, high in high == 0 || committed[partition] == high }
            }
            let reached = try await eventually(timeout: .seconds(40)) { try await caughtUp() }
            h.check(reached, "committed \(committed), end offsets \(end) after delivery: \(final)")
            try await Task.sleep(for: .seconds(5))
            let stayed = try await caughtUp()
            h.check(stayed, "5 s later: committed \(committed), end offsets \(end)")
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("frozen broker: \(stats)")
        }
    }
}
