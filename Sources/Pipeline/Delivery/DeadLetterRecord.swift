import Foundation
import Kafka
import RelayFormats

/// Why a record goes to the dead-letter topic (the `june-relay.error.reason` header).
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
/// plus the `june-relay.*` headers (``DeadLetterHeaders``). Header values are one line of text, and the
/// error message is capped at ``messageLimit`` bytes.
enum DeadLetterRecord {
    /// Longest `june-relay.error.message` value, in bytes.
    static let messageLimit = 1_000

    /// How much of the source record a dead letter carries.
    enum Content: Int, Sendable, Comparable {
        /// Key, value and original headers: the normal case.
        case full
        /// The value left out (the dead-letter topic cannot take the record's size): the original stays
        /// readable in the source topic at the offset the headers name.
        case withoutValue
        /// Value, key and original headers left out (even those are too large): only the relay's headers.
        case headersOnly

        static func < (lhs: Content, rhs: Content) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    static func make(
        for message: KafkaMessage,
        topic: String,
        reason: DeadLetterReason,
        errorMessage: String,
        httpStatus: Int?,
        attempts: Int,
        messageID: String,
        content: Content = .full,
        failedAt: Date = Date()
    ) -> KafkaProducerRecord {
        // A redriven record brings the id header of its earlier dead letter: written once, anew.
        var headers = content == .headersOnly ? [] : message.headers.filter { $0.key != DeadLetterHeaders.originalMessageID }
        headers.reserveCapacity(headers.count + 14)
        func add(_ name: String, _ value: String) {
            headers.append(KafkaHeader(key: name, value: Array(oneLine(value).utf8)))
        }
        add(DeadLetterHeaders.errorStage, reason.stage)
        add(DeadLetterHeaders.errorReason, reason.rawValue)
        add(DeadLetterHeaders.errorMessage, capped(oneLine(errorMessage), to: messageLimit))
        if let httpStatus { add(DeadLetterHeaders.errorHTTPStatus, String(httpStatus)) }
        add(DeadLetterHeaders.errorAttempts, String(attempts))
        add(DeadLetterHeaders.originalTopic, message.topic)
        add(DeadLetterHeaders.originalPartition, String(message.partition))
        add(DeadLetterHeaders.originalOffset, String(message.offset))
        if let timestamp = message.timestamp { add(DeadLetterHeaders.originalTimestamp, String(timestamp)) }
        add(DeadLetterHeaders.originalMessageID, messageID)
        if content != .full {
            add(DeadLetterHeaders.originalSize, String(message.value?.count ?? 0))
            add(DeadLetterHeaders.valueOmitted, "true")
        }
        add(DeadLetterHeaders.failedAt, failedAt.formatted(.iso8601))
        return KafkaProducerRecord(
            topic: topic,
            key: content == .headersOnly ? nil : message.key,
            value: content == .full ? message.value : nil,
            headers: headers
        )
    }

    /// The text with control characters and line separators escaped (`\n`, `\r`, `\t`, else `\uXXXX`:
    /// C0, DEL, C1, U+2028, U+2029) and trailing whitespace removed: one line, safe for line-oriented tools.
    static func oneLine(_ text: String) -> String {
        var trimmed = Substring(text)
        while let last = trimmed.last, last.isWhitespace { trimmed.removeLast() }
        // C1 controls and U+2028/U+2029 are multi-byte in UTF-8 (lead bytes 0xC2 and 0xE2).
        guard trimmed.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) else { return String(trimmed) }
        var result = ""
        result.reserveCapacity(trimmed.utf8.count + 8)
        for scalar in trimmed.unicodeScalars {
            switch scalar.value {
            case 0x0A: result += "\\n"
            case 0x0D: result += "\\r"
            case 0x09: result += "\\t"
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: result += String(format: "\\u%04X", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// At most `limit` bytes of UTF-8, cut on a character boundary, with "…" when cut.
    static func capped(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var used = 0
        let ellipsis = "…"
        for character in text {
            let size = character.utf8.count
            if used + size + ellipsis.utf8.count > limit { break }
            result.append(character)
            used += size
        }
        return result + ellipsis
    }
}
