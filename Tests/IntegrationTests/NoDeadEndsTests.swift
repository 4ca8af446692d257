import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Failure paths that must end by themselves (README: failure handling; docs/operations.md): June
/// refusing the write key, a long outage with few users, records the dead-letter topic cannot take,
/// readiness beyond the partition count.
@Suite("june-relay failure paths end by themselves", .serialized)
struct NoDeadEndsTests {
    // MARK: Wrong write key

    @Test(.timeLimit(.minutes(2)))
    func wrongWriteKeyPausesWithoutDeadLetteringAndResumesWhenTheKeyFileIsFixed() async throws {
        try await Harness.run("wrong-write-key") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--write-key", "right-key"])

            var events = TestEvents(topic: topic)
            for index in 0..<300 { events.valid(user: "user-\(index % 10)") }
            try await kafka.produce(events.records)

            let keyFile = try h.writeFile("write-key", "wrong-key\n")
            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let started = ContinuousClock.now
            // JUNE_WRITE_KEY is wrong too: only the key file's new content can make June accept the relay.
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "wrong-env-key",
                metricsPort: port, extraArguments: ["--write-key-file", keyFile.path]
            )

            var status: RelayStatus?
            let refused = try await eventually(timeout: .seconds(15)) {
                status = try? await metrics.status()
                return status?.mode == "refused"
            }
            try h.require(refused, "/status never said refused: \(status.map(String.init(describing:)) ?? "unreachable")")
            h.check(status?.refusedStatus == 401, "refusedStatus \(status?.refusedStatus.map(String.init) ?? "nil"), expected 401")

            // 18 s of a wrong key (the acceptance's 30 s, shortened: probing backs off to 5 s well before).
            try await Task.sleep(until: started + .seconds(18))
            let dead = try await kafka.recordCount(of: dlq)
            h.check(dead == 0, "\(dead) records dead-lettered because of a wrong key")
            let during = try await stub.stats()
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
            let expected = Dictionary(uniqueKeysWithValues: (0..<10).map { ("user-\($0)", events.produced(user: "user-\($0)")) })
            try await RelayChecks.waitForEveryUser(h, stub: stub, expected: expected, timeout: .seconds(45))
            let resumed = try await eventually(timeout: .seconds(10)) { try await metrics.status().mode == "running" }
            h.check(resumed, "/status did not return to running")
            let clearedGauge = try await metrics.value("relay_june_refused", labels: ["status": "401"]) ?? 0
            h.check(clearedGauge == 0, "relay_june_refused{status=\"401\"} still \(clearedGauge) after June accepted the key")
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await stub.stats()
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            try await RelayChecks.checkNothingDeadLetteredAndNoLag(h, kafka: kafka, dlq: dlq, group: group, topic: topic)
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: "right-key")
            print("wrong write key: resumed; final \(stats)")
        }
    }

    // MARK: A long outage with few users

    @Test(.timeLimit(.minutes(3)))
    func fortySecondOutageWithThreeUsersDeadLettersNothingWithAndWithoutARebalance() async throws {
        try await Harness.run("outage-three-users") { h in
            let topics = [uniqueName("events"), uniqueName("events")]
            let brokers = try await h.startBroker(topics: topics + topics.map { $0 + ".dlq" }, partitions: 2)
            // Both scenarios at once (their own topic, group and stub): the 40 s outage is paid once.
            async let alone: Void = Self.outageScenario(h, brokers: brokers, topic: topics[0], secondRelayJoins: false)
            async let rebalanced: Void = Self.outageScenario(h, brokers: brokers, topic: topics[1], secondRelayJoins: true)
            try await alone
            try await rebalanced
        }
    }

    /// Three users, June down for 40 s mid-stream, `--retry-budget 10`: the outage pauses consumption
    /// and stops the budget clock, so nothing is dead-lettered and everything arrives in order. With
    /// `secondRelayJoins`, a second relay joins 6 s into the outage, so partitions move while June is down.
    static func outageScenario(_ h: Harness, brokers: String, topic: String, secondRelayJoins: Bool) async throws {
        let name = secondRelayJoins ? "outage+rebalance" : "outage"
        let dlq = topic + ".dlq"
        let group = uniqueName("relay")
        let stub = try await h.startStub(["--latency-ms", "50"])
        let kafka = KafkaTestClient(bootstrapServers: brokers)

        var events = TestEvents(topic: topic)
        for index in 0..<300 { events.valid(user: "user-\(index % 3)") }
        // Users 0 and 2 in partition 0, user 1 in partition 1: each relay of the rebalance holds data.
        let records = events.records.map { record in
            var record = record
            record.partition = record.key == Array("user-1".utf8) ? 1 : 0
            return record
        }
        try await kafka.produce(records)

        let flags = ["--retry-budget", "10"] + RelayChecks.fastGroupFlags
        let portA = try Harness.freePort()
        let metricsA = MetricsClient(port: portA)
        let relayA = try h.startRelay(
            name: "relay-a-" + name, brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-outage",
            metricsPort: portA, extraArguments: flags
        )
        let before = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 30, timeout: .seconds(60))
        try h.require(before.uniqueAccepted < events.deliverable / 2, "\(name): the stream is too far along for the outage: \(before)")
        try await stub.startOutage(seconds: 40)
        let outageStarted = ContinuousClock.now

        var gauge: Double?
        let detected = try await eventually(timeout: .seconds(15)) {
            gauge = try await metricsA.value("relay_june_outage")
            return gauge == 1
        }
        h.check(detected, "\(name): relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 15 s into the outage")

        var relayB: ChildProcess?
        var metricsB: MetricsClient?
        if secondRelayJoins {
            try await Task.sleep(until: outageStarted + .seconds(6))
            let portB = try Harness.freePort()
            metricsB = MetricsClient(port: portB)
            relayB = try h.startRelay(
                name: "relay-b-" + name, brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-outage",
                metricsPort: portB, extraArguments: flags
            )
            var assignedB: Double?
            // Two dev-broker rebalances of ~5 s each, one more per late SyncGroup, and the revoke's drain.
            let joined = try await eventually(timeout: .seconds(32)) {
                assignedB = try? await metricsB?.value("relay_assigned_partitions")
                return (assignedB ?? 0) >= 1
            }
            h.check(joined, "\(name): relay-b was assigned \(assignedB.map { "\($0)" } ?? "nothing") within 32 s")
            let inOutage = ContinuousClock.now < outageStarted + .seconds(40)
            h.check(inOutage, "\(name): the rebalance ended after the outage (\(ContinuousClock.now - outageStarted))")
            print("\(name): relay-b joined \(ContinuousClock.now - outageStarted) into the outage")
        }

        let expected = Dictionary(uniqueKeysWithValues: (0..<3).map { ("user-\($0)", events.produced(user: "user-\($0)")) })
        try await RelayChecks.waitForEveryUser(h, stub: stub, expected: expected, timeout: .seconds(90))
        print("\(name): everything delivered \(ContinuousClock.now - outageStarted) after the outage began")
        if let relayB, let metricsB {
            let consumedB = try await metricsB.value("relay_records_consumed_total") ?? 0
            h.check(consumedB > 0, "\(name): relay-b consumed nothing")
            try await RelayChecks.stopGracefully(h, relayB)
        }
        try await RelayChecks.stopGracefully(h, relayA)

        let stats = try await stub.stats()
        h.check((stats.status["503"] ?? 0) > 0, "\(name): the relay never met the outage: \(stats)")
        if !secondRelayJoins { h.check(stats.duplicates == 0, "\(name): duplicates: \(stats)") }
        try await RelayChecks.checkNothingDeadLetteredAndNoLag(h, kafka: kafka, dlq: dlq, group: group, topic: topic)
    }

    // MARK: Records the dead-letter topic cannot take

    @Test(.timeLimit(.minutes(2)))
    func oversizedRecordAndHugeTypeAreDeadLetteredAndThePartitionMovesOn() async throws {
        try await Harness.run("oversized-dead-letters") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()

            // user-big's records all go to one partition: valid, 2 MB, valid, 600 KB type, rejected, valid.
            var events = TestEvents(topic: topic)
            for _ in 0..<5 { events.valid(user: "user-big") }
            let bigValue = Array(
                (#"{"type":"track","event":"Big","userId":"user-big","properties":{"blob":""#
                    + String(repeating: "x", count: 2_000_000) + #""}}"#).utf8
            )
            events.invalid(key: "user-big", value: bigValue, reasons: ["invalid-event", "invalid-json"])
            let bigID = events.invalid.last!.id
            for _ in 0..<5 { events.valid(user: "user-big") }
            // The type has a JSON-escaped newline: its error message must be escaped to one line.
            let hugeType = "x\\n" + String(repeating: "t", count: 600_000)
            events.invalid(
                key: "user-big", value: Array(#"{"type":"\#(hugeType)","userId":"user-big","event":"E"}"#.utf8),
                reasons: ["invalid-event"]
            )
            let typeID = events.invalid.last!.id
            // June answers 400 to these; the response body becomes the error message.
            let rejected = events.rejected(user: "user-big")
            for index in 0..<200 { events.valid(user: index % 2 == 0 ? "user-big" : "user-\(index % 10)") }
            try await kafka.produceInOrder(events.records, properties: ["message.max.bytes": "10000000"])

            let port = try Harness.freePort()
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-big", metricsPort: port
            )
            let begin = ContinuousClock.now
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: events.invalid.count, timeout: .seconds(30))
            print("oversized dead letters: \(events.invalid.count) dead letters after \(ContinuousClock.now - begin)")
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(30))
            // The dead letters are visible in Kafka a moment before the relay reads their acknowledgements.
            var omitted = 0.0
            _ = try await eventually(timeout: .seconds(10)) {
                omitted = try await MetricsClient(port: port).value("relay_dead_letter_values_omitted_total") ?? 0
                return omitted >= 1
            }
            h.check(omitted >= 1, "relay_dead_letter_values_omitted_total = \(omitted)")
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)

            let count = try await kafka.recordCount(of: dlq)
            h.check(count == Int64(events.invalid.count), "dead-letter topic holds \(count) records, expected \(events.invalid.count)")
            let deadLetters = try await kafka.readAll(topic: dlq, count: Int(count))
            var byID: [String: KafkaMessage] = [:]
            for message in deadLetters {
                if let id = message.header("e2e-id") { byID[id] = message }
                for header in message.headers where header.key.hasPrefix("june-relay.") {
                    let text = header.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    h.check(
                        !text.contains("\n") && !text.contains("\r"),
                        "\(message.header("e2e-id") ?? "?"): header \(header.key) holds a raw line break: \(text.prefix(200).debugDescription)"
                    )
                }
            }
            if let big = byID[bigID] {
                h.check(big.value == nil, "the 2 MB dead letter kept a value of \(big.value?.count ?? 0) bytes")
                h.check(
                    big.header("june-relay.original.size") == String(bigValue.count),
                    "original.size \(big.header("june-relay.original.size") ?? "nil"), expected \(bigValue.count)")
                h.check(
                    big.header("june-relay.dead-letter.value-omitted") == "true",
                    "value-omitted \(big.header("june-relay.dead-letter.value-omitted") ?? "nil")")
                h.check(big.header("june-relay.original.offset") != nil, "no original.offset on the 2 MB dead letter")
            } else {
                h.check(false, "the 2 MB record is not in the dead-letter topic")
            }
            if let huge = byID[typeID] {
                let message = huge.header("june-relay.error.message") ?? ""
                h.check(!message.isEmpty && message.utf8.count <= 1_000, "error.message of the 600 KB type is \(message.utf8.count) bytes")
                print("oversized dead letters: 600 KB type → error.message of \(message.utf8.count) bytes: \(message.prefix(60))…")
                h.check(huge.header("june-relay.error.reason") == "invalid-event", "reason \(huge.header("june-relay.error.reason") ?? "nil")")
                h.check(huge.value == events.invalid.first { $0.id == typeID }?.value, "the 600 KB type's dead letter lost its value")
            } else {
                h.check(false, "the 600 KB type record is not in the dead-letter topic")
            }
            if let rejectedLetter = byID[rejected.id] {
                h.check(
                    rejectedLetter.header("june-relay.error.http-status") == "400",
                    "stub rejection: http-status \(rejectedLetter.header("june-relay.error.http-status") ?? "nil")")
            } else {
                h.check(false, "the record June rejected is not in the dead-letter topic")
            }
        }
    }

    // MARK: Readiness beyond the partition count

    @Test(.timeLimit(.minutes(2)))
    func twoRelaysOnOnePartitionAreBothReadyAndStayReadyDuringAnOutage() async throws {
        try await Harness.run("readyz-one-partition") { h in
            let topic = uniqueName("events")
            let dlq = topic + ".dlq"
            let group = uniqueName("relay")
            let brokers = try await h.startBroker(topics: [topic, dlq], partitions: 1)
            let stub = try await h.startStub(["--latency-ms", "20"])
            let kafka = KafkaTestClient(bootstrapServers: brokers)

            let ports = [try Harness.freePort(), try Harness.freePort()]
            let metrics = ports.map { MetricsClient(port: $0) }
            var relays: [ChildProcess] = []
            for (index, port) in ports.enumerated() {
                relays.append(
                    try h.startRelay(
                        name: "relay-\(index)", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL,
                        writeKey: "k-readyz", metricsPort: port, extraArguments: RelayChecks.fastGroupFlags
                    )
                )
            }
            var codes: [Int] = []
            let bothReady = try await eventually(timeout: .seconds(40)) {
                codes = []
                for client in metrics { codes.append((try? await client.readyzStatus()) ?? 0) }
                return codes == [200, 200]
            }
            try h.require(bothReady, "/readyz of the two relays: \(codes)")
            let assigned = [try await metrics[0].status(), try await metrics[1].status()]
            h.check(
                assigned.map(\.assignedPartitions).sorted() == [0, 1],
                "assignments \(assigned.map(\.assignedPartitions)), expected one relay with the partition and one without"
            )
            let owner = assigned[0].assignedPartitions == 1 ? 0 : 1

            try await stub.startOutage(seconds: 30)
            var events = TestEvents(topic: topic)
            for index in 0..<100 { events.valid(user: "user-\(index % 10)") }
            try await kafka.produce(events.records)
            var ownerStatus: RelayStatus?
            let inOutage = try await eventually(timeout: .seconds(15)) {
                ownerStatus = try? await metrics[owner].status()
                return ownerStatus?.mode == "outage"
            }
            try h.require(inOutage, "the owner's /status never said outage: \(ownerStatus.map(String.init(describing:)) ?? "nil")")
            for _ in 0..<3 {
                codes = []
                for client in metrics { codes.append((try? await client.readyzStatus()) ?? 0) }
                h.check(codes == [200, 200], "/readyz during the outage: \(codes)")
                try await Task.sleep(for: .seconds(1))
            }
            let stillOut = try await metrics[owner].status()
            h.check(stillOut.mode == "outage", "the owner left the outage while June was down: \(stillOut)")
            print("readyz: owner relay-\(owner), during the outage \(stillOut), /readyz \(codes)")
            for relay in relays { try await RelayChecks.stopGracefully(h, relay) }
        }
    }
}
