import Foundation
import Testing
import Kafka

/// Checks the dead-letter topic against the records a test expected there (docs/design.md, "Dead letters").
enum DeadLetterChecks {
    /// Reads the whole dead-letter and source topics and checks every expected record: present exactly
    /// once, value, key and original headers unchanged, and every `june-relay.*` header right.
    /// Records whose source partition is in `repeatable` may be present twice (never more): a relay
    /// whose revoke commit was refused leaves them to the next owner to re-do (at-least-once).
    /// Returns the dead-letter records by `e2e-id`.
    @discardableResult
    static func verify(
        _ h: Harness,
        kafka: KafkaTestClient,
        dlqTopic: String,
        sourceTopic: String,
        expected: [TestEvents.Invalid],
        originalTimestamp: Int64,
        testStarted: Date,
        repeatable: Set<Int32> = []
    ) async throws -> [String: KafkaMessage] {
        let dlqCount = try await kafka.recordCount(of: dlqTopic)
        let deadLetters = try await kafka.readAll(topic: dlqTopic, count: Int(dlqCount))
        try h.require(deadLetters.count == Int(dlqCount), "read \(deadLetters.count) of \(dlqCount) dead-letter records")
        let sourceByID = try await recordsByID(h, kafka: kafka, sourceTopic: sourceTopic)
        let (byID, copies) = deadLettersByID(h, deadLetters)
        checkCopies(h, copies, expected: expected, sourceByID: sourceByID, repeatable: repeatable)

        let run = testStarted.addingTimeInterval(-5)...Date().addingTimeInterval(5)
        for entry in expected {
            guard let message = byID[entry.id] else {
                h.check(false, "record \(entry.id) (\(entry.expectedReasons)) missing from the dead-letter topic")
                continue
            }
            checkRecordKept(h, message, entry)
            checkError(h, message, entry)
            checkOriginal(h, message, id: entry.id, sourceTopic: sourceTopic, source: sourceByID[entry.id], timestamp: originalTimestamp)
            checkFailedAt(h, message, id: entry.id, within: run)
        }
        return byID
    }

    /// Where each e2e-id record sits in the source topic, to check the original.* headers.
    private static func recordsByID(_ h: Harness, kafka: KafkaTestClient, sourceTopic: String) async throws -> [String: KafkaMessage] {
        let sourceCount = try await kafka.recordCount(of: sourceTopic)
        let source = try await kafka.readAll(topic: sourceTopic, count: Int(sourceCount))
        try h.require(source.count == Int(sourceCount), "read \(source.count) of \(sourceCount) source records")
        var sourceByID: [String: KafkaMessage] = [:]
        for message in source {
            if let id = message.header("e2e-id") { sourceByID[id] = message }
        }
        return sourceByID
    }

    /// The dead letters by their original `e2e-id` header (the first copy of each), and how many
    /// copies of each there are; checks every record has the header.
    private static func deadLettersByID(_ h: Harness, _ deadLetters: [KafkaMessage]) -> ([String: KafkaMessage], [String: Int]) {
        var byID: [String: KafkaMessage] = [:]
        var copies: [String: Int] = [:]
        for message in deadLetters {
            guard let id = message.header("e2e-id") else {
                h.check(
                    false,
                    "dead-letter record without the original e2e-id header: key \(message.keyText ?? "nil") value \(message.valueText ?? "nil")")
                continue
            }
            if byID[id] == nil { byID[id] = message }
            copies[id, default: 0] += 1
        }
        return (byID, copies)
    }

    /// Nothing but the expected records, each once; twice at most where its source partition is in
    /// `repeatable`.
    private static func checkCopies(
        _ h: Harness, _ copies: [String: Int], expected: [TestEvents.Invalid], sourceByID: [String: KafkaMessage], repeatable: Set<Int32>
    ) {
        let expectedIDs = Set(expected.map(\.id))
        for (id, count) in copies.sorted(by: { $0.key < $1.key }) {
            guard expectedIDs.contains(id) else {
                h.check(false, "record \(id) dead-lettered but not expected there (\(count) copies)")
                continue
            }
            guard count > 1 else { continue }
            let partition = sourceByID[id]?.partition
            let mayRepeat = partition.map { repeatable.contains($0) } ?? false
            h.check(
                mayRepeat && count == 2,
                "record \(id) dead-lettered \(count) times (partition \(partition.map(String.init) ?? "unknown"); may repeat once only in \(repeatable.sorted()))"
            )
        }
    }

    /// Value, key and original headers unchanged, the original headers first.
    private static func checkRecordKept(_ h: Harness, _ message: KafkaMessage, _ entry: TestEvents.Invalid) {
        let id = entry.id
        h.check(message.value == entry.value, "\(id): dead-letter value differs from the original: \(message.valueText ?? "nil")")
        h.check(message.key == entry.key, "\(id): dead-letter key differs: \(message.keyText ?? "nil")")
        h.check(
            message.header("origin") == (entry.stage == "transform" ? "e2e" : nil),
            "\(id): original headers not kept: \(message.headers.map(\.key))")
        h.check(
            message.headers.first?.key == "e2e-id",
            "\(id): original headers should come first, unchanged: \(message.headers.map(\.key))"
        )
    }

    /// The `june-relay.error.*` headers: stage, reason, message, attempts (no http-status on a transform error).
    private static func checkError(_ h: Harness, _ message: KafkaMessage, _ entry: TestEvents.Invalid) {
        let id = entry.id
        h.check(
            message.header("june-relay.error.stage") == entry.stage,
            "\(id): stage \(message.header("june-relay.error.stage") ?? "nil"), expected \(entry.stage)")
        let reason = message.header("june-relay.error.reason") ?? "nil"
        h.check(entry.expectedReasons.contains(reason), "\(id): reason \(reason), expected one of \(entry.expectedReasons.sorted())")
        let errorMessage = message.header("june-relay.error.message") ?? ""
        h.check(!errorMessage.isEmpty, "\(id): empty june-relay.error.message")
        if let expectedMessage = entry.expectedMessage {
            h.check(errorMessage == expectedMessage, "\(id): message \"\(errorMessage)\", expected \"\(expectedMessage)\"")
        }
        let attempts = message.header("june-relay.error.attempts").flatMap { Int($0) }
        h.check((attempts ?? 0) >= 1, "\(id): attempts header \(message.header("june-relay.error.attempts") ?? "nil")")
        if entry.stage == "transform" {
            h.check(message.header("june-relay.error.http-status") == nil, "\(id): transform error with an http-status header")
        }
    }

    /// The `june-relay.original.*` headers: topic, partition and offset of `source`, and the timestamp.
    private static func checkOriginal(
        _ h: Harness, _ message: KafkaMessage, id: String, sourceTopic: String, source original: KafkaMessage?, timestamp originalTimestamp: Int64
    ) {
        h.check(
            message.header("june-relay.original.topic") == sourceTopic,
            "\(id): original.topic \(message.header("june-relay.original.topic") ?? "nil")")
        let partition = message.header("june-relay.original.partition").flatMap { Int32($0) }
        let offset = message.header("june-relay.original.offset").flatMap { Int64($0) }
        if let original {
            h.check(
                partition == original.partition && offset == original.offset,
                "\(id): original partition/offset \(partition.map(String.init) ?? "nil")/\(offset.map(String.init) ?? "nil"), the record is at \(original.partition)/\(original.offset)"
            )
        } else {
            h.check(false, "\(id): not found in the source topic")
        }
        h.check(
            message.header("june-relay.original.timestamp") == String(originalTimestamp),
            "\(id): original.timestamp \(message.header("june-relay.original.timestamp") ?? "nil"), expected \(originalTimestamp)"
        )
    }

    /// `june-relay.failed-at`: ISO 8601 in UTC, within the test's run.
    private static func checkFailedAt(_ h: Harness, _ message: KafkaMessage, id: String, within run: ClosedRange<Date>) {
        let iso = ISO8601DateFormatter()
        let isoFractional = ISO8601DateFormatter()
        isoFractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let failedAtText = message.header("june-relay.failed-at") ?? ""
        let failedAt = isoFractional.date(from: failedAtText) ?? iso.date(from: failedAtText)
        if let failedAt {
            h.check(run.contains(failedAt), "\(id): failed-at \(failedAtText) outside the test's run")
            h.check(failedAtText.hasSuffix("Z"), "\(id): failed-at \(failedAtText) is not UTC (Z)")
        } else {
            h.check(false, "\(id): failed-at \"\(failedAtText)\" is not ISO 8601")
        }
    }
}
