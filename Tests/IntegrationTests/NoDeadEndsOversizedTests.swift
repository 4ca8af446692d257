import Foundation
import Kafka
import Testing

/// The failure path of records the dead-letter topic cannot take as they are (a 2 MB record, a 600 KB
/// event type): they are dead-lettered, shortened, and their partition moves on.
extension NoDeadEndsTests {
    // MARK: Records the dead-letter topic cannot take

    /// The records of the oversized test that must end in the dead-letter topic, by their `e2e-id`.
    struct OversizedLetters {
        var bigID: String
        var bigSize: Int
        var typeID: String
        var typeValue: [UInt8]?
        var rejectedID: String
    }

    @Test(.timeLimit(.minutes(2)))
    func oversizedRecordAndHugeTypeAreDeadLetteredAndThePartitionMovesOn() async throws {
        try await Harness.run("oversized-dead-letters") { h in
            let s = try await Scenario.start(h)
            let (events, letters) = Self.oversizedEvents(topic: s.topic)
            try await s.kafka.produceInOrder(events.records, properties: ["message.max.bytes": "10000000"])

            let (relay, metrics) = try s.startRelayWithMetrics(writeKey: "k-big")
            let begin = ContinuousClock.now
            try await s.waitForDeadLetters(events.invalid.count, timeout: .seconds(30))
            print("oversized dead letters: \(events.invalid.count) dead letters after \(ContinuousClock.now - begin)")
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(30))
            // The dead letters are visible in Kafka a moment before the relay reads their acknowledgements.
            var omitted = 0.0
            _ = try await eventually(timeout: .seconds(10)) {
                omitted = try await metrics.value("relay_dead_letter_values_omitted_total") ?? 0
                return omitted >= 1
            }
            h.check(omitted >= 1, "relay_dead_letter_values_omitted_total = \(omitted)")
            try await RelayChecks.stopGracefully(h, relay)

            let stats = try await RelayChecks.checkEverythingDelivered(h, stub: s.stub, deliverable: events.deliverable)
            h.check(stats.duplicates == 0, "duplicates: \(stats)")
            try await s.checkNoLag()
            try await Self.checkOversizedDeadLetters(s, expected: events.invalid.count, letters)
        }
    }

    /// user-big's records all go to one partition: valid, 2 MB, valid, 600 KB type, rejected, valid.
    static func oversizedEvents(topic: String) -> (TestEvents, OversizedLetters) {
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
        let typeLetter = events.invalid.last!
        // June answers 400 to these; the response body becomes the error message.
        let rejected = events.rejected(user: "user-big")
        for index in 0..<200 { events.valid(user: index % 2 == 0 ? "user-big" : "user-\(index % 10)") }
        let letters = OversizedLetters(
            bigID: bigID, bigSize: bigValue.count, typeID: typeLetter.id, typeValue: typeLetter.value, rejectedID: rejected.id)
        return (events, letters)
    }

    /// The dead-letter topic holds `expected` records, no `june-relay.*` header with a raw line break;
    /// the 2 MB record without its value, the 600 KB type with a short error message, the rejected
    /// record with its HTTP status.
    static func checkOversizedDeadLetters(_ s: Scenario, expected: Int, _ letters: OversizedLetters) async throws {
        let h = s.h
        let count = try await s.kafka.recordCount(of: s.dlq)
        h.check(count == Int64(expected), "dead-letter topic holds \(count) records, expected \(expected)")
        let deadLetters = try await s.kafka.readAll(topic: s.dlq, count: Int(count))
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
        if let big = byID[letters.bigID] {
            h.check(big.value == nil, "the 2 MB dead letter kept a value of \(big.value?.count ?? 0) bytes")
            h.check(
                big.header("june-relay.original.size") == String(letters.bigSize),
                "original.size \(big.header("june-relay.original.size") ?? "nil"), expected \(letters.bigSize)")
            h.check(
                big.header("june-relay.dead-letter.value-omitted") == "true",
                "value-omitted \(big.header("june-relay.dead-letter.value-omitted") ?? "nil")")
            h.check(big.header("june-relay.original.offset") != nil, "no original.offset on the 2 MB dead letter")
        } else {
            h.check(false, "the 2 MB record is not in the dead-letter topic")
        }
        if let huge = byID[letters.typeID] {
            let message = huge.header("june-relay.error.message") ?? ""
            h.check(!message.isEmpty && message.utf8.count <= 1_000, "error.message of the 600 KB type is \(message.utf8.count) bytes")
            print("oversized dead letters: 600 KB type → error.message of \(message.utf8.count) bytes: \(message.prefix(60))…")
            h.check(huge.header("june-relay.error.reason") == "invalid-event", "reason \(huge.header("june-relay.error.reason") ?? "nil")")
            h.check(huge.value == letters.typeValue, "the 600 KB type's dead letter lost its value")
        } else {
            h.check(false, "the 600 KB type record is not in the dead-letter topic")
        }
        if let rejectedLetter = byID[letters.rejectedID] {
            h.check(
                rejectedLetter.header("june-relay.error.http-status") == "400",
                "stub rejection: http-status \(rejectedLetter.header("june-relay.error.http-status") ?? "nil")")
        } else {
            h.check(false, "the record June rejected is not in the dead-letter topic")
        }
    }
}
