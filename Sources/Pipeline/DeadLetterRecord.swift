import Foundation
import Kafka

/// Why a record goes to the dead-letter topic (spec §6 header values).
enum DeadLetterReason: String, Sendable, CaseIterable {
    case invalidJSON = "invalid-json"
    case invalidEvent = "invalid-event"
    case rejected = "rejected"
    case retriesExhausted = "retries-exhausted"

    var stage: String {
        switch self {
        case .invalidJSON, .invalidEvent: "transform"
        case .rejected, .retriesExhausted: "delivery"
        }
    }
}

/// Builds the dead-letter record for a failed source record: original key, value and headers unchanged,
/// plus the `june-relay.*` headers of spec §6.
enum DeadLetterRecord {
    static let headerPrefix = "june-relay."

    static func make(
        for message: KafkaMessage,
        topic: String,
        reason: DeadLetterReason,
        errorMessage: String,
        httpStatus: Int?,
        attempts: Int,
        failedAt: Date = Date()
    ) -> KafkaProducerRecord {
        var headers = message.headers
        headers.reserveCapacity(headers.count + 11)
        func add(_ name: String, _ value: String) {
            headers.append(KafkaHeader(key: headerPrefix + name, value: Array(value.utf8)))
        }
        add("error.stage", reason.stage)
        add("error.reason", reason.rawValue)
        add("error.message", errorMessage)
        if let httpStatus { add("error.http-status", String(httpStatus)) }
        add("error.attempts", String(attempts))
        add("original.topic", message.topic)
        add("original.partition", String(message.partition))
        add("original.offset", String(message.offset))
        if let timestamp = message.timestamp { add("original.timestamp", String(timestamp)) }
        add("failed-at", failedAt.formatted(.iso8601))
        return KafkaProducerRecord(topic: topic, key: message.key, value: message.value, headers: headers)
    }
}
