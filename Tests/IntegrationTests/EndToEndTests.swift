import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The built `june-relay` binary end to end: a `dev-broker` process, a `june-stub` process and one or
/// more `run` processes over real sockets. Serialized: the scenarios share two cores and
/// their timing (latency, outages, rebalances) must not compete.
@Suite("june-relay end to end", .serialized)
struct EndToEndTests {
    // MARK: 1. Happy path

    @Test(.timeLimit(.minutes(3)))
    func deliversEveryValidEventOnceInOrderAndDeadLettersInvalidOnes() async throws {
        try await Harness.run("happy-path") { h in
            let started = Date()
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()

            var events = TestEvents(topic: topic)
            for index in 0..<2_000 {
                let user = "user-\(index % 50)"
                if index % 100 == 99 {
                    events.invalidMix(variant: index / 100, user: user)
                } else {
                    events.valid(user: user)
                }
            }
            try await kafka.produce(events.records)

            let writeKey = "e2e-WRITE-KEY-" + UUID().uuidString
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: writeKey,
                extraArguments: ["--log-level", "trace"]
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: events.invalid.count, timeout: .seconds(30))
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            h.check(stats.accepted == events.deliverable, "accepted \(stats.accepted) != valid \(events.deliverable): \(stats)")
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            h.check(stats.users == 50, "users \(stats.users), expected 50")
            h.check(stats.authorizationSeen == ["Basic " + writeKey], "Authorization headers seen: \(stats.authorizationSeen.count) distinct")

            try await DeadLetterChecks.verify(
                h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: events.invalid,
                originalTimestamp: events.timestamp, testStarted: started
            )
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: writeKey)
        }
    }

    // MARK: 2. Transient June failures

    @Test(.timeLimit(.minutes(3)))
    func retriesTransient503And429UntilEverythingIsDelivered() async throws {
        try await Harness.run("transient-failures") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--fail-rate", "0.05", "--throttle-rate", "0.02"])

            var events = TestEvents(topic: topic)
            for index in 0..<1_000 { events.valid(user: "user-\(index % 40)") }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-transient")
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(120))
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            h.check((stats.status["503"] ?? 0) > 0 && (stats.status["429"] ?? 0) > 0, "no faults were injected: \(stats)")
        }
    }

    // MARK: 3. kill -9 and restart

    @Test(.timeLimit(.minutes(3)))
    func killedRelayLosesNothingAfterRestart() async throws {
        try await Harness.run("kill-9") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "20"])

            var events = TestEvents(topic: topic)
            for index in 0..<2_000 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(events.records)

            let first = try h.startRelay(
                name: "relay-killed", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL,
                writeKey: "k-kill", extraArguments: RelayChecks.fastGroupFlags
            )
            let atKill = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 300, timeout: .seconds(60))
            first.signal(SIGKILL)
            try h.require(atKill.uniqueAccepted < events.deliverable, "the stream ended before the kill: \(atKill)")
            let killedCode = try await first.waitForExit(timeout: .seconds(10))
            h.check(killedCode == 128 + SIGKILL, "killed relay exit code \(killedCode.map(String.init) ?? "running")")

            let second = try h.startRelay(
                name: "relay-restarted", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL,
                writeKey: "k-kill", extraArguments: RelayChecks.fastGroupFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [second], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("kill-9: \(atKill.uniqueAccepted) delivered before the kill; final \(stats)")
        }
    }

    // MARK: 4. A second relay joins the group

    @Test(.timeLimit(.minutes(3)))
    func secondRelayJoiningMidStreamLosesNothingAndKeepsOrder() async throws {
        try await Harness.run("rebalance") { h in
            // 16 users × 10 requests/s: the stream lasts ~30 s. A cooperative join takes two dev-broker
            // rebalances of ~5 s each, and on a loaded machine one or two more.
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "100"])

            var events = TestEvents(topic: topic)
            for index in 0..<4_800 { events.valid(user: "user-\(index % 16)") }
            try await kafka.produce(events.records)

            let portA = try Harness.freePort()
            let relayA = try h.startRelay(
                name: "relay-a", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL,
                writeKey: "k-rebalance", metricsPort: portA, extraArguments: RelayChecks.fastGroupFlags
            )
            let atJoin = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 300, timeout: .seconds(60))
            try h.require(atJoin.uniqueAccepted < events.deliverable / 4, "the stream is too far along for a mid-stream join: \(atJoin)")
            let portB = try Harness.freePort()
            let relayB = try h.startRelay(
                name: "relay-b", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL,
                writeKey: "k-rebalance", metricsPort: portB, extraArguments: RelayChecks.fastGroupFlags
            )
            let metricsB = MetricsClient(port: portB)

            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(120))

            // The second relay really took part: it was assigned partitions and consumed records.
            var consumedByB: Double = 0
            let bConsumed = try await eventually(timeout: .seconds(10)) {
                consumedByB = (try? await metricsB.value("relay_records_consumed_total")) ?? 0
                return consumedByB > 0
            }
            h.check(bConsumed, "relay-b consumed nothing (relay_records_consumed_total = \(consumedByB))")
            let assignedB = try await metricsB.value("relay_assigned_partitions") ?? 0
            let consumedByA = try await MetricsClient(port: portA).value("relay_records_consumed_total") ?? 0
            h.check(assignedB > 0 && assignedB < 4, "relay-b holds \(assignedB) partitions, expected a share of the 4")

            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relayB, relayA], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("rebalance: relay-a consumed \(consumedByA), relay-b consumed \(consumedByB); final \(stats)")
        }
    }

    // MARK: 5. June outage

    @Test(.timeLimit(.minutes(3)))
    func juneOutagePausesConsumptionAndLosesNothing() async throws {
        try await Harness.run("outage") { h in
            // 20 users × 10 requests/s: the first 600 events take ~3 s, so the outage starts mid-stream.
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "100"])

            var events = TestEvents(topic: topic)
            for index in 0..<600 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(events.records)
            let firstBatch = events.records.count

            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-outage", metricsPort: port
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 100, timeout: .seconds(60))
            let outageSeconds = 20
            try await stub.startOutage(seconds: outageSeconds)
            let outageStarted = ContinuousClock.now
            let outageEnds = outageStarted + .seconds(outageSeconds)

            // The relay notices: outage gauge 1.
            var gauge: Double?
            let detected = try await eventually(timeout: .seconds(12)) {
                gauge = try await metrics.value("relay_june_outage")
                return gauge == 1
            }
            try h.require(detected, "relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 12 s into the outage")
            // Readiness is not tied to June: an outage must not make every replica unready at once.
            let readyz = try await metrics.readyzStatus()
            h.check(readyz == 200, "/readyz answered \(readyz) during the outage, expected 200")

            // Consumption is paused: records produced now are not consumed while June is down.
            // (The consumed counter is published once per commit interval, so let it settle first.)
            try await Task.sleep(for: .seconds(2))
            let consumedBefore = try await metrics.value("relay_records_consumed_total") ?? 0
            h.check(consumedBefore <= Double(firstBatch), "consumed \(consumedBefore) of \(firstBatch) before the second batch")
            for index in 0..<400 { events.valid(user: "user-\(index % 20)") }
            try await kafka.produce(Array(events.records[firstBatch...]))
            try await Task.sleep(for: .seconds(4))
            let consumedDuring = try await metrics.value("relay_records_consumed_total") ?? 0
            let stillInOutage = ContinuousClock.now < outageEnds - .seconds(1)
            try h.require(stillInOutage, "the test took too long to observe the paused consumer within the outage")
            h.check(
                consumedDuring == consumedBefore,
                "relay_records_consumed_total grew from \(consumedBefore) to \(consumedDuring) during the outage"
            )
            print(
                "outage: detected \(ContinuousClock.now - outageStarted) into the outage window; consumed \(consumedBefore) before and \(consumedDuring) after producing \(events.records.count - firstBatch) more"
            )
            let stillOut = try await metrics.value("relay_june_outage")
            h.check(stillOut == 1, "relay_june_outage \(stillOut.map { "\($0)" } ?? "absent") before the outage ended")

            // After the outage: everything delivered, nothing dead-lettered, consumption resumed.
            let final = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            let recovered = try await eventually(timeout: .seconds(10)) {
                try await metrics.value("relay_june_outage") == 0
            }
            h.check(recovered, "relay_june_outage did not return to 0")
            let readyAgain = try await metrics.readyzStatus()
            h.check(readyAgain == 200, "/readyz answered \(readyAgain) after the outage")
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            h.check((stats.status["503"] ?? 0) > 0, "the relay never met the outage: \(final)")
        }
    }

    // MARK: 6. June rejects some events

    @Test(.timeLimit(.minutes(3)))
    func rejectedEventsAreDeadLetteredAndOthersDelivered() async throws {
        try await Harness.run("rejected") { h in
            let started = Date()
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()

            var events = TestEvents(topic: topic)
            for index in 0..<600 {
                let user = "user-\(index % 30)"
                if index % 25 == 7 { _ = events.rejected(user: user) } else { events.valid(user: user) }
            }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-reject")
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: events.invalid.count, timeout: .seconds(30))
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            h.check(stats.status["400"] == events.invalid.count, "400s \(stats.status["400"] ?? 0): a rejected event must not be retried")

            let deadLetters = try await DeadLetterChecks.verify(
                h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: events.invalid,
                originalTimestamp: events.timestamp, testStarted: started
            )
            for (id, message) in deadLetters.sorted(by: { $0.key < $1.key }) {
                h.check(
                    message.header("june-relay.error.http-status") == "400",
                    "\(id): http-status \(message.header("june-relay.error.http-status") ?? "nil")")
                h.check(
                    message.header("june-relay.error.attempts") == "1",
                    "\(id): attempts \(message.header("june-relay.error.attempts") ?? "nil"), a rejection is not retried")
                let text = message.header("june-relay.error.message") ?? ""
                h.check(text.contains("400"), "\(id): message \"\(text)\" should give the HTTP status")
            }
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
        }
    }

    // MARK: 7. One failing user

    @Test(.timeLimit(.minutes(3)))
    func failingUserDoesNotHoldUpOthersAndEndsDeadLettered() async throws {
        try await Harness.run("failing-user") { h in
            let started = Date()
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()

            var events = TestEvents(topic: topic)
            var failing: [TestEvents.Invalid] = []
            for index in 0..<600 {
                // stub-fail-1's events come first in its partition, interleaved with the others.
                if index % 50 == 0, failing.count < 3 {
                    events.valid(user: "stub-fail-1", deliverable: false)
                    let record = events.records[events.records.count - 1]
                    let id = "fail-\(failing.count)"
                    events.tagLast(id: id)
                    failing.append(
                        TestEvents.Invalid(
                            id: id, key: record.key, value: record.value, expectedReasons: ["retries-exhausted"], expectedMessage: nil,
                            stage: "delivery")
                    )
                }
                events.valid(user: "user-\(index % 40)")
            }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-failing",
                extraArguments: ["--retry-budget", "3"]
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            let deadWhenOthersDone = try await kafka.recordCount(of: dlq)
            h.check(
                deadWhenOthersDone < Int64(failing.count),
                "all \(failing.count) of stub-fail-1's events were already dead-lettered when the others were delivered"
            )
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: failing.count, timeout: .seconds(60))
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            h.check(stats.duplicates == 0, "duplicates: \(stats)")

            let deadLetters = try await DeadLetterChecks.verify(
                h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: failing,
                originalTimestamp: events.timestamp, testStarted: started
            )
            for (id, message) in deadLetters.sorted(by: { $0.key < $1.key }) {
                h.check(
                    message.header("june-relay.error.http-status") == "503",
                    "\(id): http-status \(message.header("june-relay.error.http-status") ?? "nil")")
                let attempts = message.header("june-relay.error.attempts").flatMap { Int($0) } ?? 0
                // The head (fail-0) is retried for its whole budget; then the user is quarantined and its
                // later events get one attempt each while June accepts the others (relay-spec §3).
                if id == failing[0].id {
                    h.check(attempts > 1, "\(id): attempts \(attempts): should have been retried")
                } else {
                    h.check(attempts >= 1, "\(id): attempts \(attempts)")
                }
                let text = message.header("june-relay.error.message") ?? ""
                h.check(text.contains("503"), "\(id): message \"\(text)\" should give the HTTP status")
            }
            // Dead-lettered in their original order (one lane).
            let dlqOrder = deadLetters.values.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }.compactMap { $0.header("e2e-id") }
            h.check(dlqOrder == failing.map(\.id), "stub-fail-1's events dead-lettered in order \(dlqOrder)")
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
        }
    }

    // MARK: 8. Start-up validation

    struct BadStart: Sendable, CustomStringConvertible {
        var name: String
        var arguments: [String]
        var withWriteKey: Bool
        var topicOverride: String?
        /// Text the error message on stderr must contain.
        var mustMention: [String]
        var description: String { name }
    }

    static let badStarts: [BadStart] = [
        BadStart(
            name: "unknown librdkafka property", arguments: ["--kafka-config", "no.such.property=1"], withWriteKey: true,
            mustMention: ["no.such.property"]),
        BadStart(name: "June URL not a URL", arguments: ["--june-url", "notaurl"], withWriteKey: true, mustMention: ["notaurl"]),
        BadStart(name: "no write key", arguments: [], withWriteKey: false, mustMention: ["JUNE_WRITE_KEY"]),
        BadStart(
            name: "missing input topic", arguments: [], withWriteKey: true, topicOverride: "no-such-topic",
            mustMention: ["no-such-topic", "does not exist"]),
        BadStart(
            name: "missing dead-letter topic", arguments: ["--dlq-topic", "no-such-dlq"], withWriteKey: true,
            mustMention: ["no-such-dlq", "does not exist"]),
    ]

    @Test(.timeLimit(.minutes(3)))
    func invalidStartupExitsNonZeroQuicklyAndConsumesNothing() async throws {
        try await Harness.run("startup-validation") { h in
            let topic = uniqueName("events")
            let dlq = topic + ".dlq"
            let brokers = try await h.startBroker(topics: [topic, dlq])
            let stub = try await h.startStub()
            let kafka = KafkaTestClient(bootstrapServers: brokers)
            var events = TestEvents(topic: topic)
            for index in 0..<50 { events.valid(user: "user-\(index % 5)") }
            try await kafka.produce(events.records)

            for bad in Self.badStarts {
                let group = uniqueName("relay-bad")
                let topicArgument = bad.topicOverride ?? topic
                var arguments = ["run", "--brokers", brokers, "--topic", topicArgument, "--group", group, "--metrics-port", "0"]
                if !bad.arguments.contains("--june-url") { arguments += ["--june-url", stub.baseURL] }
                arguments += bad.arguments
                let begin = ContinuousClock.now
                let relay = try h.launch(
                    "relay-" + bad.name.replacingOccurrences(of: " ", with: "-"),
                    arguments,
                    environment: bad.withWriteKey ? ["JUNE_WRITE_KEY": "k-startup"] : [:]
                )
                let code = try await relay.waitForExit(timeout: .seconds(20))
                let took = ContinuousClock.now - begin
                h.check(code != nil, "\(bad): still running after 20 s")
                h.check(took < .seconds(15), "\(bad): took \(took) to exit")
                h.check(code != 0, "\(bad): exit code 0")
                let stderr = relay.stderrText
                for text in bad.mustMention {
                    h.check(stderr.contains(text), "\(bad): stderr does not mention \"\(text)\":\n\(tail(stderr, lines: 10))")
                }
                let committed = try await kafka.committedOffsets(group: group, topic: topic)
                h.check(committed.isEmpty, "\(bad): offsets committed for \(group): \(committed)")
                print("start-up validation: \(bad) → exit \(code.map(String.init) ?? "none") in \(took)")
            }
            let stats = try await stub.stats()
            h.check(stats.requests == 0, "June got requests from relays that should not have started: \(stats)")
        }
    }

    // MARK: 8b. Bounded buffers

    @Test(.timeLimit(.minutes(3)))
    func smallBuffersStayBoundedAndLoseNothing() async throws {
        try await Harness.run("bounded-buffers") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "10"])

            var events = TestEvents(topic: topic)
            for index in 0..<4_000 { events.valid(user: "user-\(index % 300)") }
            try await kafka.produce(events.records)

            // 50 per partition, 200 in total: the whole backlog is 20x that.
            let maxBuffered = 50
            let pollBatch = 1_000  // PipelineConfiguration.pollBatchSize: one poll can overshoot by this much
            let port = try Harness.freePort()
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-bounded",
                metricsPort: port, extraArguments: ["--max-buffered", String(maxBuffered), "--max-in-flight", "16"]
            )
            let metrics = MetricsClient(port: port)
            var peak = 0.0
            var samples = 0
            while (try? await stub.stats().uniqueAccepted) ?? 0 < events.deliverable {
                if let buffered = try? await metrics.value("relay_buffered_records") {
                    peak = max(peak, buffered)
                    samples += 1
                }
                try h.require(relay.isRunning, "relay exited early: \(relay.stderrText.suffix(2_000))")
                try await Task.sleep(for: .milliseconds(100))
            }
            try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )

            // The gauge is refreshed once per commit interval, so it samples the buffer; it may read 0.
            h.check(samples > 5, "only \(samples) metric samples")
            h.check(peak <= Double(4 * maxBuffered + pollBatch), "buffered peaked at \(peak), bound \(4 * maxBuffered + pollBatch)")
        }
    }

    // MARK: 9. dev-broker with kcat

    @Test(.timeLimit(.minutes(2)))
    func devBrokerServesKcatProducerAndGroupConsumer() async throws {
        try await Harness.run("kcat") { h in
            let kcat = try #require(
                ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) },
                "kcat is not installed (apt-get install kcat)"
            )
            let topic = uniqueName("t1")
            let group = uniqueName("kcat-group")
            let brokers = try await h.startBroker(topics: [topic], partitions: 4)
            let kafka = KafkaTestClient(bootstrapServers: brokers)

            let input = h.logDirectory.appendingPathComponent("kcat-input.txt")
            let lines = (0..<100).map { "key-\($0 % 10):value-\($0)" }
            try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
            let producer = try h.launch(
                "kcat-produce", ["-b", brokers, "-P", "-t", topic, "-K", ":", "-l", input.path],
                executable: URL(fileURLWithPath: kcat)
            )
            let produced = try await producer.waitForExit(timeout: .seconds(30))
            try h.require(produced == 0, "kcat -P exit \(produced.map(String.init) ?? "running"): \(producer.stderrText)")
            let end = try await kafka.endOffsets(of: topic)
            h.check(end.values.reduce(0, +) == 100, "end offsets \(end) after producing 100")
            h.check(end.values.filter { $0 > 0 }.count > 1, "keyed records all landed in one partition: \(end)")

            let consumer = try h.launch(
                "kcat-consume",
                [
                    "-b", brokers, "-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q",
                    "-f", "%k:%s\\n", topic,
                ],
                executable: URL(fileURLWithPath: kcat)
            )
            let consumed = try await consumer.waitForExit(timeout: .seconds(60))
            h.check(consumed == 0, "kcat -G exit \(consumed.map(String.init) ?? "still running after 60 s")")
            let received = consumer.stdoutText.split(separator: "\n").map(String.init)
            h.check(received.count == 100, "kcat consumed \(received.count) records, expected 100")
            h.check(Set(received) == Set(lines), "consumed records differ from the produced ones")
            // Each key's records in order (one key, one partition).
            for key in 0..<10 {
                let sent = lines.filter { $0.hasPrefix("key-\(key):") }
                let got = received.filter { $0.hasPrefix("key-\(key):") }
                h.check(got == sent, "key-\(key) consumed out of order: \(got)")
            }
            let committed = try await kafka.committedOffsets(group: group, topic: topic)
            for (partition, high) in end where high > 0 {
                h.check(
                    committed[partition] == high,
                    "\(partition): kcat's group committed \(committed[partition].map(String.init) ?? "none"), end \(high)")
            }
        }
    }
}
