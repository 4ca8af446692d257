import Foundation
import Testing
import Kafka

/// Checks the dead-letter topic against the records a test expected there (docs/design.md, "Dead letters").
enum DeadLetterChecks {
    /// Reads the whole dead-letter and source topics and checks every expected record: present exactly
    /// once, value, key and original headers unchanged, and every `june-relay.*` header right.
    /// Returns the dead-letter records by `e2e-id`.
    @discardableResult
    static func verify(
        _ h: Harness,
        kafka: KafkaTestClient,
        dlqTopic: String,
        sourceTopic: String,
        expected: [TestEvents.Invalid],
        originalTimestamp: Int64,
        testStarted: Date
    ) async throws -> [String: KafkaMessage] {
        let dlqCount = try await kafka.recordCount(of: dlqTopic)
        h.check(dlqCount == Int64(expected.count), "dead-letter topic holds \(dlqCount) records, expected \(expected.count)")
        let deadLetters = try await kafka.readAll(topic: dlqTopic, count: Int(dlqCount))
        try h.require(deadLetters.count == Int(dlqCount), "read \(deadLetters.count) of \(dlqCount) dead-letter records")

        // Where each e2e-id record sits in the source topic, to check the original.* headers.
        let sourceCount = try await kafka.recordCount(of: sourceTopic)
        let source = try await kafka.readAll(topic: sourceTopic, count: Int(sourceCount))
        try h.require(source.count == Int(sourceCount), "read \(source.count) of \(sourceCount) source records")
        var sourceByID: [String: KafkaMessage] = [:]
        for message in source {
            if let id = message.header("e2e-id") { sourceByID[id] = message }
        }

        var byID: [String: KafkaMessage] = [:]
        for message in deadLetters {
            guard let id = message.header("e2e-id") else {
                h.check(
                    false,
                    "dead-letter record without the original e2e-id header: key \(message.keyText ?? "nil") value \(message.valueText ?? "nil")")
                continue
            }
            h.check(byID[id] == nil, "record \(id) dead-lettered more than once")
            byID[id] = message
        }

        let now = Date()
        let iso = ISO8601DateFormatter()
        let isoFractional = ISO8601DateFormatter()
        isoFractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for entry in expected {
            guard let message = byID[entry.id] else {
                h.check(false, "record \(entry.id) (\(entry.expectedReasons)) missing from the dead-letter topic")
                continue
            }
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
            h.check(
                message.header("june-relay.original.topic") == sourceTopic,
                "\(id): original.topic \(message.header("june-relay.original.topic") ?? "nil")")
            let partition = message.header("june-relay.original.partition").flatMap { Int32($0) }
            let offset = message.header("june-relay.original.offset").flatMap { Int64($0) }
            if let original = sourceByID[id] {
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
            let failedAtText = message.header("june-relay.failed-at") ?? ""
            let failedAt = isoFractional.date(from: failedAtText) ?? iso.date(from: failedAtText)
            if let failedAt {
                h.check(
                    failedAt >= testStarted.addingTimeInterval(-5) && failedAt <= now.addingTimeInterval(5),
                    "\(id): failed-at \(failedAtText) outside the test's run"
                )
                h.check(failedAtText.hasSuffix("Z"), "\(id): failed-at \(failedAtText) is not UTC (Z)")
            } else {
                h.check(false, "\(id): failed-at \"\(failedAtText)\" is not ISO 8601")
            }
        }
        return byID
    }
}
