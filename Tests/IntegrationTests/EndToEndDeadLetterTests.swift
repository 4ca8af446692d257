import Foundation
import Kafka
import Testing

/// End to end, the events June will not take are dead-lettered while the others are delivered: events
/// June rejects (400) and a user whose every request fails (503).
extension EndToEndTests {
    // MARK: 6. June rejects some events

    @Test(.timeLimit(.minutes(3)))
    func rejectedEventsAreDeadLetteredAndOthersDelivered() async throws {
        try await Harness.run("rejected") { h in
            let started = Date()
            let s = try await Scenario.start(h)

            var events = TestEvents(topic: s.topic)
            for index in 0..<600 {
                let user = "user-\(index % 30)"
                if index % 25 == 7 { _ = events.rejected(user: user) } else { events.valid(user: user) }
            }
            try await s.produce(events)

            let relay = try s.startRelay(writeKey: "k-reject")
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(90))
            try await s.waitForDeadLetters(events.invalid.count, timeout: .seconds(30))

            let stats = try await s.stopAndCheckDelivered([relay], deliverable: events.deliverable)
            h.check(stats.status["400"] == events.invalid.count, "400s \(stats.status["400"] ?? 0): a rejected event must not be retried")

            let deadLetters = try await s.verifyDeadLetters(events.invalid, of: events, testStarted: started)
            Self.checkDeliveryFailureHeaders(h, deadLetters, httpStatus: "400") { id, attempts in
                h.check(attempts == "1", "\(id): attempts \(attempts ?? "nil"), a rejection is not retried")
            }
            try await s.checkNoLag()
        }
    }

    // MARK: 7. One failing user

    @Test(.timeLimit(.minutes(3)))
    func failingUserDoesNotHoldUpOthersAndEndsDeadLettered() async throws {
        try await Harness.run("failing-user") { h in
            let started = Date()
            let s = try await Scenario.start(h)
            let (events, failing) = Self.failingUserEvents(topic: s.topic)
            try await s.produce(events)

            let relay = try s.startRelay(writeKey: "k-failing", ["--retry-budget", "3"])
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            let deadWhenOthersDone = try await s.kafka.recordCount(of: s.dlq)
            h.check(
                deadWhenOthersDone < Int64(failing.count),
                "all \(failing.count) of stub-fail-1's events were already dead-lettered when the others were delivered"
            )
            try await s.waitForDeadLetters(failing.count, timeout: .seconds(60))
            try await s.stopAndCheckDelivered([relay], deliverable: events.deliverable)

            let deadLetters = try await s.verifyDeadLetters(failing, of: events, testStarted: started)
            Self.checkDeliveryFailureHeaders(h, deadLetters, httpStatus: "503") { id, header in
                let attempts = header.flatMap { Int($0) } ?? 0
                // The head (fail-0) is retried for its whole budget; then the user is quarantined and its
                // later events get one attempt each while June accepts the others (relay-spec §3).
                if id == failing[0].id {
                    h.check(attempts > 1, "\(id): attempts \(attempts): should have been retried")
                } else {
                    h.check(attempts >= 1, "\(id): attempts \(attempts)")
                }
            }
            // Dead-lettered in their original order (one lane).
            let dlqOrder = deadLetters.values.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }.compactMap { $0.header("e2e-id") }
            h.check(dlqOrder == failing.map(\.id), "stub-fail-1's events dead-lettered in order \(dlqOrder)")
            try await s.checkNoLag()
        }
    }

    /// 600 valid events of 40 users, and interleaved with them three of `stub-fail-1` (which the stub
    /// always fails), first in that user's partition; returns the events and those three, which must be
    /// dead-lettered as `retries-exhausted`.
    static func failingUserEvents(topic: String) -> (events: TestEvents, failing: [TestEvents.Invalid]) {
        var events = TestEvents(topic: topic)
        var failing: [TestEvents.Invalid] = []
        for index in 0..<600 {
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
        return (events, failing)
    }

    /// Checks every dead letter of a delivery failure, in `e2e-id` order: its `http-status` header is
    /// `httpStatus`, `checkAttempts` judges its `attempts` header, and its message gives the HTTP status.
    static func checkDeliveryFailureHeaders(
        _ h: Harness, _ deadLetters: [String: KafkaMessage], httpStatus: String,
        checkAttempts: (_ id: String, _ attempts: String?) -> Void
    ) {
        for (id, message) in deadLetters.sorted(by: { $0.key < $1.key }) {
            h.check(
                message.header("june-relay.error.http-status") == httpStatus,
                "\(id): http-status \(message.header("june-relay.error.http-status") ?? "nil")")
            checkAttempts(id, message.header("june-relay.error.attempts"))
            let text = message.header("june-relay.error.message") ?? ""
            h.check(text.contains(httpStatus), "\(id): message \"\(text)\" should give the HTTP status")
        }
    }
}
