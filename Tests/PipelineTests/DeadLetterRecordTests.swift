import Foundation
import Kafka
import Testing

@testable import Pipeline

@Suite struct DeadLetterRecordTests {
    @Test func carriesOriginalBytesAndEveryHeader() throws {
        let message = KafkaMessage(
            topic: "events", partition: 3, offset: 42, key: Array("user-1".utf8), value: Array("{bad".utf8),
            headers: [KafkaHeader(key: "trace", value: Array("t1".utf8))], timestamp: 1_700_000_000_123
        )
        let record = DeadLetterRecord.make(
            for: message, topic: "events.dlq", reason: .rejected, errorMessage: "HTTP 400: nope",
            httpStatus: 400, attempts: 2, failedAt: Date(timeIntervalSince1970: 1_700_000_001)
        )
        #expect(record.topic == "events.dlq")
        #expect(record.key == message.key)
        #expect(record.value == message.value)
        let headers = Dictionary(record.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) }) { a, _ in a }
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
    }

    @Test func transformFailuresHaveNoHTTPStatus() {
        let message = KafkaMessage(topic: "t", partition: 0, offset: 1, key: nil, value: nil, headers: [], timestamp: nil)
        let record = DeadLetterRecord.make(
            for: message, topic: "t.dlq", reason: .invalidJSON, errorMessage: "x", httpStatus: nil, attempts: 1
        )
        let keys = record.headers.map(\.key)
        #expect(!keys.contains("june-relay.error.http-status"))
        #expect(keys.contains("june-relay.error.stage"))
        #expect(record.headers.first { $0.key == "june-relay.error.stage" }?.value == Array("transform".utf8))
    }
}
