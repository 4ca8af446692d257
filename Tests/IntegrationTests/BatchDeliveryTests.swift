import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `--delivery batch` end to end: the built binary against a `dev-broker` and a `june-stub` process.
/// The stub checks what only it can see: per-user order and duplicates across batch items, a user in
/// two requests at once, repeated messageIds. Serialized, like the other end-to-end suites: the
/// scenarios share two cores and their timing (latency, outages, a kill) must not compete. The June
/// outage and kill -9 scenarios are in BatchDeliveryFailureTests.swift.
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

    /// No event accepted twice, no messageId repeated, no user in two requests at once.
    static func checkNoDuplicatesAndNoUserInTwoRequests(_ h: Harness, _ stats: StubStats) {
        h.check(stats.duplicates == 0, "duplicates: \(stats)")
        h.check(stats.duplicateMessageIds == 0, "repeated messageIds: \(stats)")
        h.check(stats.concurrentUserViolations == 0, "a user was in two requests at once: \(stats)")
    }

    // MARK: 1. 20,000 events of 2,000 skewed users

    @Test(.timeLimit(.minutes(3)))
    func deliversEveryEventOnceInOrderWithStableMessageIDsAndDeadLettersInvalidOnes() async throws {
        try await Harness.run("batch-happy-path") { h in
            let started = Date()
            let s = try await Scenario.start(h, stub: ["--latency-ms", "20"])
            let events = Self.skewedEvents(topic: s.topic)
            try await s.produce(events)

            let writeKey = "e2e-batch-KEY-" + UUID().uuidString
            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: writeKey, Self.batchFlags)
            let delivered = try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            try await s.waitForDeadLetters(events.invalid.count, timeout: .seconds(30))
            print("batch-happy-path: delivered \(events.deliverable) events: \(delivered)")

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: s.stub, deliverable: events.deliverable)
            Self.checkDeliveredInBatches(h, stats, deliverable: events.deliverable, writeKey: writeKey)
            try await Self.checkEventsPerRequest(h, metrics, deliverable: events.deliverable)

            // messageIds: the event's own, else topic-partition-offset (through twins, see MessageIDChecks).
            let twins = try await MessageIDChecks.twins(
                h, kafka: s.kafka, events: events,
                ownIDs: Array(events.withOwnID.prefix(40)),
                withoutIDs: Array(Set(events.withoutID.prefix(40) + events.withEmptyID.prefix(10))).sorted(),
                ownIDsByOffset: Array(events.withOwnID.suffix(40))
            )
            try await MessageIDChecks.verify(h, kafka: s.kafka, stub: s.stub, twins: twins)

            try await RelayChecks.stopGracefully(h, relay)
            let final = try await s.stub.stats()
            h.check(final.orderViolations == 0 && final.concurrentUserViolations == 0, "after the twins: \(final)")
            try await s.verifyDeadLetters(events.invalid, of: events, testStarted: started)
            try await s.checkNoLag()
            RelayChecks.checkWriteKeyNotLogged(h, relay, writeKey: writeKey)
        }
    }

    /// 20,000 records, 2,000 users (20% of the events from 20 of them); every 100th record is invalid;
    /// every 7th has no messageId (every 100th of those an empty one); 7 is prime to the user cycles, so
    /// every user, hot or not, has events with and without an id.
    static func skewedEvents(topic: String) -> BatchEvents {
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
        return events
    }

    /// Every valid event of the 2,000 users accepted once, all through `/sdk/batch` with Basic credentials.
    static func checkDeliveredInBatches(_ h: Harness, _ stats: StubStats, deliverable: Int, writeKey: String) {
        h.check(stats.accepted == deliverable, "accepted \(stats.accepted) != valid \(deliverable): \(stats)")
        checkNoDuplicatesAndNoUserInTwoRequests(h, stats)
        h.check(stats.users == 2_000, "users \(stats.users), expected 2,000")
        h.check((stats.batches ?? 0) > 0, "no batch was accepted: \(stats)")
        h.check(stats.batchItems == stats.accepted, "batchItems \(stats.batchItems ?? -1) != accepted \(stats.accepted): \(stats)")
        h.check(stats.batchesRejected == 0, "batches rejected (an item without type or messageId?): \(stats)")
        h.check(stats.byType.values.reduce(0, +) == 0, "per-event requests in batch mode: \(stats.byType)")
        h.check(
            stats.authorizationSeen == [batchAuthorization(writeKey)],
            "Authorization headers seen: \(stats.authorizationSeen.count) distinct, expected Basic base64(\"<key>:\")")
    }

    /// The relay's `relay_june_batch_events` observed every delivered event, more than one per request.
    static func checkEventsPerRequest(_ h: Harness, _ metrics: MetricsClient, deliverable: Int) async throws {
        // The stub counts a batch before the relay has read its answer and recorded the request.
        var perRequest: (sum: Double, count: Double) = (0, 0)
        _ = try await eventually(timeout: .seconds(10)) {
            perRequest = try await eventsPerRequest(metrics)
            return perRequest.sum >= Double(deliverable)
        }
        h.check(perRequest.count > 0, "relay_june_batch_events has no observations")
        h.check(perRequest.sum == Double(deliverable), "relay_june_batch_events sum \(perRequest.sum), expected \(deliverable)")
        let average = perRequest.count > 0 ? perRequest.sum / perRequest.count : 0
        h.check(average > 1, "\(average) events per request: the relay did not batch")
        print("batch-happy-path: \(perRequest.count) requests, \(String(format: "%.1f", average)) events per request")
    }

    // MARK: 2. A rejected batch is split down to the event June rejects

    @Test(.timeLimit(.minutes(3)))
    func rejectedEventInABatchIsDeadLetteredAloneAndItsBatchMatesDelivered() async throws {
        try await Harness.run("batch-rejected") { h in
            let started = Date()
            let s = try await Scenario.start(h)

            // 2,000 events of 100 users, all written before the relay starts, so batches are full; five of
            // them June rejects, in the middle of their users' runs.
            var events = BatchEvents(topic: s.topic)
            for index in 0..<2_000 {
                let user = "user-\(index % 100)"
                if index % 400 == 250 {
                    events.rejected(user: user)
                } else {
                    events.valid(user: user)
                }
            }
            try await s.produce(events)

            let relay = try s.startRelay(writeKey: "k-batch-reject", Self.batchFlags)
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            try await s.waitForDeadLetters(events.invalid.count, timeout: .seconds(30))
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: s.stub, deliverable: events.deliverable)
            print("batch-rejected: \(stats)")
            h.check(stats.accepted == events.deliverable, "accepted \(stats.accepted) != deliverable \(events.deliverable): \(stats)")
            Self.checkNoDuplicatesAndNoUserInTwoRequests(h, stats)
            // Each rejected event ends alone in a batch answered 400; more rejected batches than that
            // means a batch with batch-mates was refused and split.
            let rejectedBatches = stats.batchesRejected ?? 0
            h.check(
                rejectedBatches > events.invalid.count,
                "\(rejectedBatches) rejected batches for \(events.invalid.count) rejected events: no batch with batch-mates was refused and split")
            h.check(stats.status["400"] == rejectedBatches, "400s \(stats.status["400"] ?? 0) != rejected batches \(rejectedBatches)")
            h.check(stats.byType.values.reduce(0, +) == 0, "per-event requests in batch mode: \(stats.byType)")

            let deadLetters = try await s.verifyDeadLetters(events.invalid, of: events, testStarted: started)
            Self.checkRejectedOnceWithTheStatus(h, deadLetters)
            try await s.checkNoLag()
        }
    }

    /// Each dead letter June rejected gives the 400 and was attempted once.
    static func checkRejectedOnceWithTheStatus(_ h: Harness, _ deadLetters: [String: KafkaMessage]) {
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
    }

    // MARK: 3. Transient failures

    @Test(.timeLimit(.minutes(3)))
    func retriesTransient503And429BatchesWithStableMessageIDs() async throws {
        try await Harness.run("batch-transient") { h in
            let s = try await Scenario.start(h, stub: ["--fail-rate", "0.05", "--throttle-rate", "0.02", "--latency-ms", "5"])

            // Small batches, so there are many of them (and many refused ones) to retry.
            var events = BatchEvents(topic: s.topic)
            for index in 0..<4_000 {
                events.valid(user: "user-\(index % 400)", messageID: index % 7 == 2 ? .absent : .own)
            }
            try await s.produce(events)

            let relay = try s.startRelay(writeKey: "k-batch-transient", Self.batchFlags + ["--batch-max-events", "10"])
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: s.stub, deliverable: events.deliverable)
            print("batch-transient: \(stats)")
            Self.checkNoDuplicatesAndNoUserInTwoRequests(h, stats)
            h.check((stats.status["503"] ?? 0) > 0 && (stats.status["429"] ?? 0) > 0, "no faults were injected: \(stats)")
            h.check(stats.batchItems == stats.accepted, "batchItems \(stats.batchItems ?? -1) != accepted \(stats.accepted)")

            // Every event without an id was delivered with `<topic>-<partition>-<offset>`, whether or not
            // its batch was refused first (a refused batch is not recorded by the stub; the twins of all
            // of them check the id the accepted attempt carried).
            let twins = try await MessageIDChecks.twins(
                h, kafka: s.kafka, events: events,
                ownIDs: Array(events.withOwnID.prefix(50)), withoutIDs: events.withoutID, ownIDsByOffset: Array(events.withOwnID.suffix(50))
            )
            try await MessageIDChecks.verify(h, kafka: s.kafka, stub: s.stub, twins: twins, timeout: .seconds(90))

            try await RelayChecks.stopGracefully(h, relay)
            let final = try await s.stub.stats()
            h.check(final.orderViolations == 0 && final.concurrentUserViolations == 0, "after the twins: \(final)")
            try await s.checkNothingDeadLetteredAndNoLag()
        }
    }

    // MARK: 4. Items over 32 KB go to their per-event endpoint, in order

    @Test(.timeLimit(.minutes(3)))
    func eventOver32KBGoesToItsPerEventEndpointInItsUsersOrder() async throws {
        try await Harness.run("batch-large-item") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "10"])

            // big-1: seqs 3 and 4 are ~40 KB; big-2: seq 5 is ~40 KB and seq 7 ~30 KB (under the item
            // limit: it stays in a batch). Everyone else small, interleaved.
            var events = BatchEvents(topic: s.topic)
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
            try await s.produce(events)

            let writeKey = "k-batch-large"
            let relay = try s.startRelay(writeKey: writeKey, Self.batchFlags)
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable)
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
                let seqs = try await s.stub.acceptedSeqs(user: user)
                h.check(seqs == Array(0..<12), "\(user) accepted in the order \(seqs)")
            }
        }
    }
}
