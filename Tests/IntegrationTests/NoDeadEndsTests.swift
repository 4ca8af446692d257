import Foundation
import Kafka
import Testing

/// Failure paths that must end by themselves (README: failure handling; docs/operations.md): June
/// refusing the write key, a long outage with few users, records the dead-letter topic cannot take
/// (in NoDeadEndsOversizedTests.swift), readiness beyond the partition count.
@Suite("june-relay failure paths end by themselves", .serialized)
struct NoDeadEndsTests {
    // MARK: Wrong write key

    @Test(.timeLimit(.minutes(2)))
    func wrongWriteKeyPausesWithoutDeadLetteringAndResumesWhenTheKeyFileIsFixed() async throws {
        try await Harness.run("wrong-write-key") { h in
            let s = try await Scenario.start(h, stub: ["--write-key", "right-key"])
            let events = try await s.produceValid(300, users: 10)

            let keyFile = try h.writeFile("write-key", "wrong-key\n")
            let started = ContinuousClock.now
            // JUNE_WRITE_KEY is wrong too: only the key file's new content can make June accept the relay.
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "wrong-env-key", ["--write-key-file", keyFile.path])

            var status: RelayStatus?
            let refused = try await eventually(timeout: .seconds(15)) {
                status = try? await metrics.status()
                return status?.mode == "refused"
            }
            try h.require(refused, "/status never said refused: \(status.map(String.init(describing:)) ?? "unreachable")")
            h.check(status?.refusedStatus == 401, "refusedStatus \(status?.refusedStatus.map(String.init) ?? "nil"), expected 401")

            // 18 s of a wrong key (the acceptance's 30 s, shortened: probing backs off to 5 s well before).
            try await Task.sleep(until: started + .seconds(18))
            let dead = try await s.kafka.recordCount(of: s.dlq)
            h.check(dead == 0, "\(dead) records dead-lettered because of a wrong key")
            let during = try await s.stub.stats()
            // 10 users: at most 10 event requests before the first 401, then probes every 0.5 s doubling to 5 s.
            h.check(during.requests < 100, "\(during.requests) requests in 18 s of refusal: hammering, not probing: \(during)")
            h.check(during.requests > 1, "no probes while refused: \(during)")
            h.check(during.accepted == 0, "June accepted events with a wrong key: \(during)")
            status = try await metrics.status()
            h.check(status?.mode == "refused" && status?.refusedStatus == 401, "/status after 18 s: \(status.map(String.init(describing:)) ?? "nil")")
            let refusedGauge = try await metrics.value("relay_june_refused", labels: ["status": "401"])
            h.check(refusedGauge == 1, "relay_june_refused{status=\"401\"} = \(refusedGauge.map { "\($0)" } ?? "absent")")
            h.check(relay.stderrText.contains("June refuses"), "the log does not say June refused the relay:\n\(tail(relay.stderrText, lines: 10))")
            print("wrong write key: \(during.requests) requests in 18 s, \(dead) dead letters, \(status.map(String.init(describing:)) ?? "")")

            // The key file is fixed: delivery resumes without a restart.
            _ = try h.writeFile("write-key", "right-key\n")
            try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: Self.perUser(events, users: 10), timeout: .seconds(45))
            let resumed = try await eventually(timeout: .seconds(10)) { try await metrics.status().mode == "running" }
            h.check(resumed, "/status did not return to running")
            let clearedGauge = try await metrics.value("relay_june_refused", labels: ["status": "401"]) ?? 0
            h.check(clearedGauge == 0, "relay_june_refused{status=\"401\"} still \(clearedGauge) after June accepted the key")
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await s.stub.stats()
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            try await s.checkNothingDeadLetteredAndNoLag()
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: "right-key")
            print("wrong write key: resumed; final \(stats)")
        }
    }

    /// Each of the users `user-0` … `user-<users - 1>` with its number of events.
    static func perUser(_ events: TestEvents, users: Int) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: (0..<users).map { ("user-\($0)", events.produced(user: "user-\($0)")) })
    }

    // MARK: A long outage with few users

    @Test(.timeLimit(.minutes(3)))
    func fortySecondOutageWithThreeUsersDeadLettersNothingWithAndWithoutARebalance() async throws {
        try await Harness.run("outage-three-users") { h in
            let topics = [uniqueName("events"), uniqueName("events")]
            let (broker, brokers) = try await h.startBrokerProcess(topics: topics + topics.map { $0 + ".dlq" }, partitions: 2)
            // Both scenarios at once (their own topic, group and stub): the 40 s outage is paid once.
            async let alone: Void = Self.outageScenario(h, broker: broker, brokers: brokers, topic: topics[0], secondRelayJoins: false)
            async let rebalanced: Void = Self.outageScenario(h, broker: broker, brokers: brokers, topic: topics[1], secondRelayJoins: true)
            try await alone
            try await rebalanced
        }
    }

    /// Three users, June down for 40 s mid-stream, `--retry-budget 10`: the outage pauses consumption
    /// and stops the budget clock, so nothing is dead-lettered and everything arrives in order. With
    /// `secondRelayJoins`, a second relay joins 6 s into the outage, so partitions move while June is down.
    static func outageScenario(_ h: Harness, broker: ChildProcess, brokers: String, topic: String, secondRelayJoins: Bool) async throws {
        let name = secondRelayJoins ? "outage+rebalance" : "outage"
        let s = try await Scenario.sharing(h, broker: broker, brokers: brokers, topic: topic, stub: ["--latency-ms", "50"])

        var events = TestEvents(topic: topic)
        for index in 0..<300 { events.valid(user: "user-\(index % 3)") }
        // Users 0 and 2 in partition 0, user 1 in partition 1: each relay of the rebalance holds data.
        let records = events.records.map { record in
            var record = record
            record.partition = record.key == Array("user-1".utf8) ? 1 : 0
            return record
        }
        try await s.kafka.produce(records)

        let flags = ["--retry-budget", "10"] + RelayChecks.fastGroupFlags
        let (relayA, metricsA) = try s.startRelayWithMetrics("relay-a-" + name, writeKey: "k-outage", flags)
        let before = try await s.waitForAccepted(30, timeout: .seconds(60))
        try h.require(before.uniqueAccepted < events.deliverable / 2, "\(name): the stream is too far along for the outage: \(before)")
        try await s.stub.startOutage(seconds: 40)
        let outageStarted = ContinuousClock.now

        var gauge: Double?
        let detected = try await eventually(timeout: .seconds(15)) {
            gauge = try await metricsA.value("relay_june_outage")
            return gauge == 1
        }
        h.check(detected, "\(name): relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 15 s into the outage")
        var joined: (relay: ChildProcess, metrics: MetricsClient)?
        if secondRelayJoins { joined = try await Self.joinDuringOutage(s, name: name, flags: flags, outageStarted: outageStarted) }

        try await RelayChecks.waitForEveryUser(h, stub: s.stub, expected: Self.perUser(events, users: 3), timeout: .seconds(90))
        print("\(name): everything delivered \(ContinuousClock.now - outageStarted) after the outage began")
        if let relayB = joined {
            let consumedB = try await relayB.metrics.value("relay_records_consumed_total") ?? 0
            h.check(consumedB > 0, "\(name): relay-b consumed nothing")
            try await RelayChecks.stopGracefully(h, relayB.relay)
        }
        try await RelayChecks.stopGracefully(h, relayA)

        let stats = try await s.stub.stats()
        h.check((stats.status["503"] ?? 0) > 0, "\(name): the relay never met the outage: \(stats)")
        if !secondRelayJoins { h.check(stats.duplicates == 0, "\(name): duplicates: \(stats)") }
        try await s.checkNothingDeadLetteredAndNoLag()
    }

    /// Starts relay-b 6 s into the outage and checks it is assigned a partition while June is still down.
    static func joinDuringOutage(
        _ s: Scenario, name: String, flags: [String], outageStarted: ContinuousClock.Instant
    ) async throws -> (relay: ChildProcess, metrics: MetricsClient) {
        try await Task.sleep(until: outageStarted + .seconds(6))
        let relayB = try s.startRelayWithMetrics("relay-b-" + name, writeKey: "k-outage", flags)
        var assignedB: Double?
        // Two dev-broker rebalances of ~5 s each, one more per late SyncGroup, and the revoke's drain.
        let joined = try await eventually(timeout: .seconds(32)) {
            assignedB = try? await relayB.metrics.value("relay_assigned_partitions")
            return (assignedB ?? 0) >= 1
        }
        s.h.check(joined, "\(name): relay-b was assigned \(assignedB.map { "\($0)" } ?? "nothing") within 32 s")
        let inOutage = ContinuousClock.now < outageStarted + .seconds(40)
        s.h.check(inOutage, "\(name): the rebalance ended after the outage (\(ContinuousClock.now - outageStarted))")
        print("\(name): relay-b joined \(ContinuousClock.now - outageStarted) into the outage")
        return relayB
    }

    // MARK: Readiness beyond the partition count

    @Test(.timeLimit(.minutes(2)))
    func twoRelaysOnOnePartitionAreBothReadyAndStayReadyDuringAnOutage() async throws {
        try await Harness.run("readyz-one-partition") { h in
            let s = try await Scenario.start(h, partitions: 1, stub: ["--latency-ms", "20"])
            let relays = try (0..<2).map { try s.startRelayWithMetrics("relay-\($0)", writeKey: "k-readyz", RelayChecks.fastGroupFlags) }
            let metrics = relays.map(\.metrics)
            var codes: [Int] = []
            let bothReady = try await eventually(timeout: .seconds(40)) {
                codes = await Self.readyzCodes(metrics)
                return codes == [200, 200]
            }
            try h.require(bothReady, "/readyz of the two relays: \(codes)")
            let assigned = [try await metrics[0].status(), try await metrics[1].status()]
            h.check(
                assigned.map(\.assignedPartitions).sorted() == [0, 1],
                "assignments \(assigned.map(\.assignedPartitions)), expected one relay with the partition and one without"
            )
            let owner = assigned[0].assignedPartitions == 1 ? 0 : 1

            try await s.stub.startOutage(seconds: 30)
            _ = try await s.produceValid(100, users: 10)
            var ownerStatus: RelayStatus?
            let inOutage = try await eventually(timeout: .seconds(15)) {
                ownerStatus = try? await metrics[owner].status()
                return ownerStatus?.mode == "outage"
            }
            try h.require(inOutage, "the owner's /status never said outage: \(ownerStatus.map(String.init(describing:)) ?? "nil")")
            for _ in 0..<3 {
                codes = await Self.readyzCodes(metrics)
                h.check(codes == [200, 200], "/readyz during the outage: \(codes)")
                try await Task.sleep(for: .seconds(1))
            }
            let stillOut = try await metrics[owner].status()
            h.check(stillOut.mode == "outage", "the owner left the outage while June was down: \(stillOut)")
            print("readyz: owner relay-\(owner), during the outage \(stillOut), /readyz \(codes)")
            for relay in relays { try await RelayChecks.stopGracefully(h, relay.relay) }
        }
    }

    /// The `/readyz` status of each relay (0 when it does not answer).
    static func readyzCodes(_ metrics: [MetricsClient]) async -> [Int] {
        var codes: [Int] = []
        for client in metrics { codes.append((try? await client.readyzStatus()) ?? 0) }
        return codes
    }
}
