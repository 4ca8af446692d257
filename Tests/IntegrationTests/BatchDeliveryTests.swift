import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--delivery batch` end to end: the built binary against a `dev-broker` and a `june-stub` process.
/// The stub checks what only it can see: per-user order and duplicates across batch items, a user in
/// two requests at once, repeated messageIds. Serialized, like the other end-to-end suites: the
/// scenarios share two cores and their timing (latency, outages, a kill) must not compete.
@Suite("june-relay batch delivery end to end", .serialized)
struct BatchDeliveryTests {
    static let batchFlags = ["--delivery", "batch"]

    /// The `Authorization` value of `/sdk/batch` requests: Basic credentials with the key as user name
    /// and an empty password, as June's own SDKs send them.
    static func batchAuthorization(_ writeKey: String) -> String {
        "Basic " + Data((writeKey + ":").utf8).base64EncodedString()
    }

    /// Events per June request, from the relay's `relay_june_batch_events` histogram (sum / count).
    static func eventsPerRequest(_ metrics: MetricsClient) async throws -> (sum: Double, count: Double) {
        let sum = try await metrics.value("relay_june_batch_events_sum") ?? 0
        let count = try await metrics.value("relay_june_batch_events_count") ?? 0
        return (sum, count)
    }

    // MARK: 1. 20,000 events of 2,000 skewed users

    @Test(.timeLimit(.minutes(3)))
    func deliversEveryEventOnceInOrderWithStableMessageIDsAndDeadLettersInvalidOnes() async throws {
        try await Harness.run("batch-happy-path") { h in
            let started = Date()
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "20"])

            // 20,000 records, 2,000 users (20% of the events from 20 of them); every 100th record is
            // invalid; every 7th has no messageId (every 100th of those an empty one); 7 is prime to the
            // user cycles, so every user, hot or not, has events with and without an id.
            var events = BatchEvents(topic: topic)
            for index in 0..<20_000 {
                let user = BatchEvents.skewedUser(index: index, users: 2_000)
                if index % 100 == 99 {
                    events.invalidMix(variant: index / 100, user: user)
                } else if index % 7 == 3 {
                    events.valid(user: user, messageID: index % 700 == 3 ? .empty : .absent)
                } else {
                    events.valid(user: user)
                }
            }
            try await kafka.produce(events.records)

            let writeKey = "e2e-batch-KEY-" + UUID().uuidString
            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: writeKey, metricsPort: port,
                extraArguments: Self.batchFlags
            )
            let delivered = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: events.invalid.count, timeout: .seconds(30))
            print("batch-happy-path: delivered \(events.deliverable) events: \(delivered)")

            var stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            h.check(stats.accepted == events.deliverable, "accepted \(stats.accepted) != valid \(events.deliverable): \(stats)")
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            h.check(stats.duplicateMessageIds == 0, "repeated messageIds: \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            h.check(stats.users == 2_000, "users \(stats.users), expected 2,000")
            h.check((stats.batches ?? 0) > 0, "no batch was accepted: \(stats)")
            h.check(stats.batchItems == stats.accepted, "batchItems \(stats.batchItems ?? -1) != accepted \(stats.accepted): \(stats)")
            h.check(stats.batchesRejected == 0, "batches rejected (an item without type or messageId?): \(stats)")
            h.check(stats.byType.values.reduce(0, +) == 0, "per-event requests in batch mode: \(stats.byType)")
            h.check(
                stats.authorizationSeen == [Self.batchAuthorization(writeKey)],
                "Authorization headers seen: \(stats.authorizationSeen.count) distinct, expected Basic base64(\"<key>:\")")

            // The stub counts a batch before the relay has read its answer and recorded the request.
            var perRequest: (sum: Double, count: Double) = (0, 0)
            _ = try await eventually(timeout: .seconds(10)) {
                perRequest = try await Self.eventsPerRequest(metrics)
                return perRequest.sum >= Double(events.deliverable)
            }
            h.check(perRequest.count > 0, "relay_june_batch_events has no observations")
            h.check(perRequest.sum == Double(events.deliverable), "relay_june_batch_events sum \(perRequest.sum), expected \(events.deliverable)")
            let average = perRequest.count > 0 ? perRequest.sum / perRequest.count : 0
            h.check(average > 1, "\(average) events per request: the relay did not batch")
            print("batch-happy-path: \(perRequest.count) requests, \(String(format: "%.1f", average)) events per request")

            // messageIds: the event's own, else topic-partition-offset (through twins, see MessageIDChecks).
            let twins = try await MessageIDChecks.twins(
                h, kafka: kafka, events: events,
                ownIDs: Array(events.withOwnID.prefix(40)),
                withoutIDs: Array(Set(events.withoutID.prefix(40) + events.withEmptyID.prefix(10))).sorted(),
                ownIDsByOffset: Array(events.withOwnID.suffix(40))
            )
            try await MessageIDChecks.verify(h, kafka: kafka, stub: stub, twins: twins)

            try await RelayChecks.stopGracefully(h, relay)
            stats = try await stub.stats()
            h.check(stats.orderViolations == 0 && stats.concurrentUserViolations == 0, "after the twins: \(stats)")
            try await DeadLetterChecks.verify(
                h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: events.invalid,
                originalTimestamp: events.timestamp, testStarted: started
            )
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: writeKey)
        }
    }

    // MARK: 2. A rejected batch is split down to the event June rejects

    @Test(.timeLimit(.minutes(3)))
    func rejectedEventInABatchIsDeadLetteredAloneAndItsBatchMatesDelivered() async throws {
        try await Harness.run("batch-rejected") { h in
            let started = Date()
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()

            // 2,000 events of 100 users, all written before the relay starts, so batches are full; five of
            // them June rejects, in the middle of their users' runs.
            var events = BatchEvents(topic: topic)
            for index in 0..<2_000 {
                let user = "user-\(index % 100)"
                if index % 400 == 250 {
                    events.rejected(user: user)
                } else {
                    events.valid(user: user)
                }
            }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-batch-reject",
                extraArguments: Self.batchFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: events.invalid.count, timeout: .seconds(30))
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            print("batch-rejected: \(stats)")
            h.check(stats.accepted == events.deliverable, "accepted \(stats.accepted) != deliverable \(events.deliverable): \(stats)")
            h.check(stats.duplicates == 0 && stats.duplicateMessageIds == 0, "duplicates: \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            // Each rejected event ends alone in a batch answered 400; more rejected batches than that
            // means a batch with batch-mates was refused and split.
            let rejectedBatches = stats.batchesRejected ?? 0
            h.check(
                rejectedBatches > events.invalid.count,
                "\(rejectedBatches) rejected batches for \(events.invalid.count) rejected events: no batch with batch-mates was refused and split")
            h.check(stats.status["400"] == rejectedBatches, "400s \(stats.status["400"] ?? 0) != rejected batches \(rejectedBatches)")
            h.check(stats.byType.values.reduce(0, +) == 0, "per-event requests in batch mode: \(stats.byType)")

            let deadLetters = try await DeadLetterChecks.verify(
                h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: events.invalid,
                originalTimestamp: events.timestamp, testStarted: started
            )
            for (id, message) in deadLetters.sorted(by: { $0.key < $1.key }) {
                h.check(
                    message.header("june-relay.error.http-status") == "400",
                    "\(id): http-status \(message.header("june-relay.error.http-status") ?? "nil")")
                let text = message.header("june-relay.error.message") ?? ""
                h.check(text.contains("400"), "\(id): message \"\(text)\" should give the HTTP status")
                // The batch it first travelled in is its one attempt; the halves on the way down to it are
                // not new attempts. More would mean a rejection was retried.
                let attempts = message.header("june-relay.error.attempts").flatMap { Int($0) } ?? 0
                h.check(
                    attempts == 1, "\(id): attempts \(attempts), expected 1 (split down from a batch, never retried: the halves are not new attempts)"
                )
            }
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
        }
    }

    // MARK: 3. Transient failures

    @Test(.timeLimit(.minutes(3)))
    func retriesTransient503And429BatchesWithStableMessageIDs() async throws {
        try await Harness.run("batch-transient") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario([
                "--fail-rate", "0.05", "--throttle-rate", "0.02", "--latency-ms", "5",
            ])

            // Small batches, so there are many of them (and many refused ones) to retry.
            var events = BatchEvents(topic: topic)
            for index in 0..<4_000 {
                events.valid(user: "user-\(index % 400)", messageID: index % 7 == 2 ? .absent : .own)
            }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-batch-transient",
                extraArguments: Self.batchFlags + ["--batch-max-events", "10"]
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: stub, deliverable: events.deliverable)
            print("batch-transient: \(stats)")
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            h.check(stats.duplicateMessageIds == 0, "repeated messageIds: \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            h.check((stats.status["503"] ?? 0) > 0 && (stats.status["429"] ?? 0) > 0, "no faults were injected: \(stats)")
            h.check(stats.batchItems == stats.accepted, "batchItems \(stats.batchItems ?? -1) != accepted \(stats.accepted)")

            // Every event without an id was delivered with `<topic>-<partition>-<offset>`, whether or not
            // its batch was refused first (a refused batch is not recorded by the stub; the twins of all
            // of them check the id the accepted attempt carried).
            let twins = try await MessageIDChecks.twins(
                h, kafka: kafka, events: events,
                ownIDs: Array(events.withOwnID.prefix(50)), withoutIDs: events.withoutID, ownIDsByOffset: Array(events.withOwnID.suffix(50))
            )
            try await MessageIDChecks.verify(h, kafka: kafka, stub: stub, twins: twins, timeout: .seconds(90))

            try await RelayChecks.stopGracefully(h, relay)
            let final = try await stub.stats()
            h.check(final.orderViolations == 0 && final.concurrentUserViolations == 0, "after the twins: \(final)")
            try await RelayChecks.checkNothingDeadLetteredAndNoLag(h, kafka: kafka, dlq: dlq, group: group, topic: topic)
        }
    }

    // MARK: 4. Items over 32 KB go to their per-event endpoint, in order

    @Test(.timeLimit(.minutes(3)))
    func eventOver32KBGoesToItsPerEventEndpointInItsUsersOrder() async throws {
        try await Harness.run("batch-large-item") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "10"])

            // big-1: seqs 3 and 4 are ~40 KB; big-2: seq 5 is ~40 KB and seq 7 ~30 KB (under the item
            // limit: it stays in a batch). Everyone else small, interleaved.
            var events = BatchEvents(topic: topic)
            var bigOnes = 0
            for index in 0..<1_200 {
                events.valid(user: "user-\(index % 60)")
                if index % 50 == 0, index < 600 {
                    let seq = index / 50
                    let large = [3, 4].contains(seq)
                    if large { bigOnes += 1 }
                    events.valid(user: "big-1", padding: large ? 40_000 : 0)
                    let largeTwo = seq == 5
                    if largeTwo { bigOnes += 1 }
                    events.valid(user: "big-2", padding: largeTwo ? 40_000 : (seq == 7 ? 30_000 : 0))
                }
            }
            try await kafka.produce(events.records)

            let writeKey = "k-batch-large"
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: writeKey,
                extraArguments: Self.batchFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("batch-large-item: \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            h.check(
                stats.byType["track"] == bigOnes && stats.byType.values.reduce(0, +) == bigOnes,
                "per-event requests \(stats.byType), expected \(bigOnes) to /api/track (the items over 32 KB, and only them)")
            h.check(stats.batchItems == stats.accepted - bigOnes, "batchItems \(stats.batchItems ?? -1), accepted \(stats.accepted)")
            let expectedAuthorizations: Set = ["Basic " + writeKey, Self.batchAuthorization(writeKey)]
            h.check(
                Set(stats.authorizationSeen) == expectedAuthorizations,
                "Authorization forms seen: \(stats.authorizationSeen.count), expected the raw key on /api/track and Basic base64(\"<key>:\") on /sdk/batch"
            )
            for user in ["big-1", "big-2"] {
                let seqs = try await stub.acceptedSeqs(user: user)
                h.check(seqs == Array(0..<12), "\(user) accepted in the order \(seqs)")
            }
        }
    }

    // MARK: 5. June outage

    @Test(.timeLimit(.minutes(3)))
    func juneOutageInBatchModeLosesNothingAndDeadLettersNothing() async throws {
        try await Harness.run("batch-outage") { h in
            // 4 requests of at most 10 events per 100 ms: at most 400 events/s, so the outage starts mid-stream.
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", "100"])

            var events = BatchEvents(topic: topic)
            for index in 0..<3_000 {
                events.valid(user: "user-\(index % 200)", messageID: index % 7 == 4 ? .absent : .own)
            }
            try await kafka.produce(events.records)
            let firstBatch = events.count

            let port = try Harness.freePort()
            let metrics = MetricsClient(port: port)
            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-batch-outage", metricsPort: port,
                extraArguments: Self.batchFlags + ["--max-in-flight", "4", "--batch-max-events", "10"]
            )
            let atOutage = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: 500, timeout: .seconds(60))
            try h.require(atOutage.uniqueAccepted < events.deliverable, "the stream ended before the outage: \(atOutage)")
            let outageSeconds = 15
            try await stub.startOutage(seconds: outageSeconds)
            let outageEnds = ContinuousClock.now + .seconds(outageSeconds)

            var gauge: Double?
            let detected = try await eventually(timeout: .seconds(12)) {
                gauge = try await metrics.value("relay_june_outage")
                return gauge == 1
            }
            try h.require(detected, "relay_june_outage is \(gauge.map { "\($0)" } ?? "absent") 12 s into the outage")
            // More events while June is down.
            for index in 0..<1_000 { events.valid(user: "user-\(index % 200)") }
            try await kafka.produce(Array(events.records[firstBatch...]))
            let duringOutage = try await stub.stats()
            h.check(ContinuousClock.now < outageEnds, "the test took too long to observe the outage")

            let final = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            let recovered = try await eventually(timeout: .seconds(10)) { try await metrics.value("relay_june_outage") == 0 }
            h.check(recovered, "relay_june_outage did not return to 0")
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [relay], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("batch-outage: at the outage \(atOutage.uniqueAccepted) delivered; probes during it \(duringOutage.probes ?? -1); final \(final)")
            h.check(stats.duplicates == 0 && stats.duplicateMessageIds == 0, "duplicates: \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            h.check((stats.status["503"] ?? 0) > 0, "the relay never met the outage: \(stats)")
            h.check((stats.probes ?? 0) > 0, "the relay never probed June during the outage: \(stats)")
        }
    }

    // MARK: 6. kill -9 and restart

    @Test(.timeLimit(.minutes(3)))
    func killedBatchRelayLosesNothingAndRedeliversOnlyWhatWasNotCommitted() async throws {
        try await Harness.run("batch-kill-9") { h in
            let latencyMs = 100
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario(["--latency-ms", String(latencyMs)])

            var events = BatchEvents(topic: topic)
            for index in 0..<12_000 {
                // 40 users: their lanes progress side by side, so the offsets done above the committed
                // one form few ranges and all fit in the commit metadata (a spread of thousands of single
                // done offsets would not, and would be redelivered by design).
                events.valid(user: "user-\(index % 40)", messageID: index % 7 == 6 ? .absent : .own)
            }
            try await kafka.produce(events.records)

            // The first relay is slow on purpose: every request takes at least the stub's latency, so it
            // delivers at most maxInFlight × batchMaxEvents per latency (400 events/s).
            let maxInFlight = 4
            let batchMaxEvents = 10
            let commitInterval = 0.5
            let first = try h.startRelay(
                name: "relay-killed", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-batch-kill",
                extraArguments: Self.batchFlags + RelayChecks.fastGroupFlags + [
                    "--max-in-flight", String(maxInFlight), "--batch-max-events", String(batchMaxEvents),
                    "--commit-interval", String(commitInterval),
                ]
            )
            // Kill once periodic commits run (they wait 10 s after the assignment) and have gone on a while.
            var committed: Int64 = 0
            let committing = try await eventually(timeout: .seconds(40)) {
                committed = try await kafka.committedOffsets(group: group, topic: topic).values.reduce(0, +)
                return committed > 0
            }
            try h.require(committing, "the first relay committed nothing within 40 s")
            try await Task.sleep(for: .seconds(3))
            first.signal(SIGKILL)
            let atKill = try await stub.stats()
            try h.require(atKill.uniqueAccepted < events.deliverable, "the stream ended before the kill: \(atKill)")
            let killedCode = try await first.waitForExit(timeout: .seconds(10))
            h.check(killedCode == 128 + SIGKILL, "killed relay exit code \(killedCode.map(String.init) ?? "running")")

            let second = try h.startRelay(
                name: "relay-restarted", brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-batch-kill",
                extraArguments: Self.batchFlags + RelayChecks.fastGroupFlags
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(90))
            let stats = try await RelayChecks.verifyCleanFinish(
                h, stopping: [second], stub: stub, deliverable: events.deliverable, noDuplicates: false,
                kafka: kafka, dlq: dlq, group: group, topic: topic
            )
            print("batch-kill-9: \(atKill.uniqueAccepted) delivered before the kill; final \(stats)")
            h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
            // A redelivered event carries the messageId it had the first time (its own, or the same
            // topic-partition-offset), so June can drop it: every duplicate is a repeated messageId.
            h.check(
                stats.duplicateMessageIds == stats.duplicates,
                "duplicateMessageIds \(stats.duplicateMessageIds ?? -1) != duplicates \(stats.duplicates): a redelivered event changed its messageId"
            )
            // Redelivered after the restart: only events June accepted that no commit recorded yet, i.e.
            // those accepted since the last commit's snapshot (at most one commit interval plus the
            // commit's own round trip, allowed 1 s) and those in flight at the kill. The first relay
            // cannot deliver faster than maxInFlight × batchMaxEvents per stub latency.
            let maxRate = Double(maxInFlight * batchMaxEvents) * 1_000 / Double(latencyMs)
            let bound = Int(maxRate * (commitInterval + 1.0)) + maxInFlight * batchMaxEvents
            h.check(
                stats.duplicates <= bound,
                "\(stats.duplicates) events delivered twice, bound \(bound) (delivered before the kill: \(atKill.uniqueAccepted))")
        }
    }
}
