import Foundation
import JuneTransform
@testable import Kafka
import Testing

@testable import Pipeline

@Suite struct DeadLetterRecordTests {
    let message = KafkaMessage(
        topic: "events", partition: 3, offset: 42, key: Array("user-1".utf8), value: Array("{bad".utf8),
        headers: [KafkaHeader(key: "trace", value: Array("t1".utf8))], timestamp: 1_700_000_000_123
    )

    func headers(_ record: KafkaProducerRecord) -> [String: String] {
        Dictionary(record.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }) { first, _ in first }
    }

    func make(_ errorMessage: String = "HTTP 400: nope", content: DeadLetterRecord.Content = .full) -> KafkaProducerRecord {
        DeadLetterRecord.make(
            for: message, topic: "events.dlq", reason: .rejected, errorMessage: errorMessage,
            httpStatus: 400, attempts: 2, messageID: "events-3-42", content: content, failedAt: Date(timeIntervalSince1970: 1_700_000_001)
        )
    }

    @Test func carriesOriginalBytesAndEveryHeader() throws {
        let record = make()
        #expect(record.topic == "events.dlq")
        #expect(record.key == message.key)
        #expect(record.value == message.value)
        let headers = headers(record)
        #expect(headers["trace"] == "t1")
        #expect(headers["june-relay.error.stage"] == "delivery")
        #expect(headers["june-relay.error.reason"] == "rejected")
        #expect(headers["june-relay.error.message"] == "HTTP 400: nope")
        #expect(headers["june-relay.error.http-status"] == "400")
        #expect(headers["june-relay.error.attempts"] == "2")
        #expect(headers["june-relay.original.topic"] == "events")
        #expect(headers["june-relay.original.partition"] == "3")
        #expect(headers["june-relay.original.offset"] == "42")
        #expect(headers["june-relay.original.timestamp"] == "1700000000123")
        #expect(headers["june-relay.failed-at"] == "2023-11-14T22:13:21Z")
        #expect(headers["june-relay.original.message-id"] == "events-3-42")
        #expect(headers["june-relay.original.size"] == nil && headers["june-relay.dead-letter.value-omitted"] == nil)
    }

    @Test func transformFailuresHaveNoHTTPStatus() {
        let message = KafkaMessage(topic: "t", partition: 0, offset: 1, key: nil, value: nil, headers: [], timestamp: nil)
        let record = DeadLetterRecord.make(
            for: message, topic: "t.dlq", reason: .invalidJSON, errorMessage: "x", httpStatus: nil, attempts: 1, messageID: "t-0-1"
        )
        let keys = record.headers.map(\.key)
        #expect(!keys.contains("june-relay.error.http-status"))
        #expect(!keys.contains("june-relay.original.timestamp"))
        #expect(record.headers.first { $0.key == "june-relay.error.stage" }?.value == Array("transform".utf8))
    }

    @Test func headerValuesAreOneLine() {
        let record = make("HTTP 400: {\"error\":\"bad\nthing\"}\r\n\tcol\u{7}umn \u{1B}[31m\u{7F}\n\n  \n")
        let value = headers(record)["june-relay.error.message"]
        #expect(value == #"HTTP 400: {"error":"bad\nthing"}\r\n\tcol\u0007umn \u001B[31m\u007F"#)
        for header in record.headers where header.key.hasPrefix("june-relay.") {
            let bytes = header.value ?? []
            #expect(!bytes.contains { $0 < 0x20 || $0 == 0x7F }, "\(header.key) has a control character")
            #expect(bytes.last != 0x20, "\(header.key) has trailing whitespace")
        }
    }

    @Test
    func unicodeLineBreaksAndC1ControlsAreEscaped() {
        // NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR break lines in Unicode-aware tools; CSI (U+009B) is a
        // terminal escape. All are control or separator characters a header value must not carry raw.
        let value = headers(make("a\u{85}b\u{2028}c\u{2029}d\u{9B}31m"))["june-relay.error.message"]!
        let raw = value.unicodeScalars.filter { scalar in
            [.control, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
        }
        #expect(raw.isEmpty, "unescaped: \(raw.map { String($0.value, radix: 16) })")
        #expect(value.hasPrefix("a") && value.hasSuffix("31m"))
    }

    @Test func messageIsCappedAtOneThousandBytesOnACharacterBoundary() {
        // A 600 KB event type, as an error message would quote it, with multi-byte characters at every offset.
        let unit = "é👍🏽ü\u{301}x"  // 2 + 8 + 4 + 1 bytes; "ü\u{301}" is one character of two scalars
        let type = String(repeating: unit, count: 600_000 / unit.utf8.count)
        #expect(type.utf8.count > 590_000)
        let started = ContinuousClock.now
        for prefix in ["", "a", "ab", "abc"] {
            let text = "Unknown event type: " + prefix + type
            let value = headers(make(text))["june-relay.error.message"]!
            #expect(value.utf8.count <= DeadLetterRecord.messageLimit)
            #expect(value.utf8.count > DeadLetterRecord.messageLimit - 12, "cut as late as a character allows")
            #expect(value.hasSuffix("…"))
            let kept = String(value.dropLast())
            #expect(text.hasPrefix(kept), "a prefix of whole characters of the original (no character split), prefix \(prefix.count)")
        }
        #expect(ContinuousClock.now - started < .seconds(5), "capping a huge message must be cheap")
        #expect(
            headers(make(String(repeating: "a", count: 1_000)))["june-relay.error.message"]?.utf8.count == 1_000, "exactly the limit is kept whole")
    }

    @Test func withoutValueKeepsKeyAndHeadersAndSaysWhatWasOmitted() {
        let record = make(content: .withoutValue)
        #expect(record.value == nil)
        #expect(record.key == message.key)
        let headers = headers(record)
        #expect(headers["trace"] == "t1")
        #expect(headers["june-relay.original.size"] == "4")
        #expect(headers["june-relay.dead-letter.value-omitted"] == "true")
        #expect(headers["june-relay.original.offset"] == "42")
        #expect(headers["june-relay.error.reason"] == "rejected")
    }

    @Test func headersOnlyLeavesOutKeyValueAndOriginalHeaders() {
        let record = make(content: .headersOnly)
        #expect(record.value == nil)
        #expect(record.key == nil)
        #expect(record.headers.allSatisfy { $0.key.hasPrefix("june-relay.") }, "original headers are left out")
        let headers = headers(record)
        #expect(headers["june-relay.original.size"] == "4")
        #expect(headers["june-relay.dead-letter.value-omitted"] == "true")
        #expect(headers["june-relay.original.topic"] == "events" && headers["june-relay.original.offset"] == "42")
        #expect(DeadLetterRecord.Content.full < .withoutValue && DeadLetterRecord.Content.withoutValue < .headersOnly)
    }

    // MARK: - The messageId across a redrive (relay-spec §6)

    @Test func messageIDIsTheEventsOwnThenTheRedrivenHeaderThenTheCoordinates() {
        let idHeader = KafkaHeader(key: "june-relay.original.message-id", value: Array("events-1-7".utf8))
        let redriven = KafkaMessage(
            topic: "events", partition: 2, offset: 900, key: nil, value: Array("{}".utf8), headers: [idHeader], timestamp: nil
        )
        let withoutID: Result<JuneRequest, TransformError> = .success(JuneRequest(type: .track, body: [], orderingKey: "u"))
        let withID: Result<JuneRequest, TransformError> = .success(JuneRequest(type: .track, body: [], orderingKey: "u", messageID: "m-1"))
        #expect(RelayRecord.messageID(request: withID, message: redriven) == "m-1")
        #expect(RelayRecord.messageID(request: withoutID, message: redriven) == "events-1-7", "the id June saw before the redrive")
        #expect(RelayRecord.messageID(request: withoutID, message: message) == "events-3-42")
        let invalid: Result<JuneRequest, TransformError> = .failure(TransformError(reason: .invalidJSON, message: "x"))
        #expect(RelayRecord.messageID(request: invalid, message: redriven) == "events-1-7")
        let empty = KafkaMessage(
            topic: "events", partition: 2, offset: 900, key: nil, value: nil,
            headers: [KafkaHeader(key: "june-relay.original.message-id", value: [])], timestamp: nil
        )
        #expect(RelayRecord.messageID(request: withoutID, message: empty) == "events-2-900", "an empty header is no id")
    }

    @Test func aRedrivenRecordDeadLetteredAgainCarriesOneMessageIDHeader() {
        let redriven = KafkaMessage(
            topic: "events", partition: 2, offset: 900, key: nil, value: Array("{}".utf8),
            headers: [KafkaHeader(key: "june-relay.original.message-id", value: Array("events-1-7".utf8))], timestamp: nil
        )
        let record = DeadLetterRecord.make(
            for: redriven, topic: "events.dlq", reason: .rejected, errorMessage: "HTTP 400", httpStatus: 400, attempts: 1,
            messageID: "events-1-7"
        )
        let ids = record.headers.filter { $0.key == "june-relay.original.message-id" }
        #expect(ids.count == 1)
        #expect(ids.first?.value == Array("events-1-7".utf8))
    }
}
