import Foundation
import Kafka

/// The events a test writes: RudderStack JSON keyed by userId, each user's valid events numbered
/// 0, 1, 2, … in `properties.seq` (track) or `context.traits.seq` (identify → June `traits.seq`), so the
/// stub's duplicate and order checks apply. Invalid records are remembered with what the dead-letter
/// record must say about them.
struct TestEvents {
    struct Invalid {
        /// A unique `e2e-id` header value, to find the record in the dead-letter topic.
        var id: String
        var key: [UInt8]?
        var value: [UInt8]?
        var expectedReasons: Set<String>
        /// The exact `june-relay.error.message`, when the spec fixes it.
        var expectedMessage: String?
        var stage: String
    }

    let topic: String
    private(set) var records: [KafkaProducerRecord] = []
    /// Valid events the stub should accept (not rejected by a hook, not from a failing user).
    private(set) var deliverable = 0
    private(set) var invalid: [Invalid] = []
    private var nextSeq: [String: Int] = [:]
    private var counter = 0
    /// Create time given to every record (ms since epoch), to check `june-relay.original.timestamp`.
    let timestamp: Int64

    init(topic: String) {
        self.topic = topic
        self.timestamp = Int64(Date().timeIntervalSince1970 * 1000)
    }

    var count: Int { records.count }

    private mutating func seq(for user: String) -> Int {
        defer { nextSeq[user, default: 0] += 1 }
        return nextSeq[user, default: 0]
    }

    private mutating func append(key: String?, value: [UInt8]?, headers: [KafkaHeader] = []) {
        counter += 1
        records.append(
            KafkaProducerRecord(
                topic: topic,
                key: key.map { Array($0.utf8) },
                value: value,
                headers: headers,
                timestamp: timestamp
            )
        )
    }

    /// A valid track (or every 7th event an identify) for `user`.
    mutating func valid(user: String, deliverable isDeliverable: Bool = true, eventName: String = "E2E Event") {
        let seq = seq(for: user)
        let id = counter
        let json: String
        if seq % 7 == 3, eventName == "E2E Event" {
            json = """
                {"type":"identify","userId":"\(user)","anonymousId":"anon-\(user)","messageId":"m-\(id)","originalTimestamp":"2026-01-02T03:04:05.678Z","context":{"traits":{"seq":\(seq),"email":"\(user)@example.com"},"library":{"name":"e2e"}}}
                """
        } else {
            json = """
                {"type":"track","event":"\(eventName)","userId":"\(user)","anonymousId":"anon-\(user)","messageId":"m-\(id)","properties":{"seq":\(seq),"n":\(id),"price":19.99},"originalTimestamp":"2026-01-02T03:04:05.678Z","context":{"library":{"name":"e2e"},"locale":"en-US"}}
                """
        }
        append(key: user, value: Array(json.utf8))
        if isDeliverable { deliverable += 1 }
    }

    /// A track June answers 400 to (the stub's `stub:reject` hook); it must be dead-lettered as `rejected`.
    mutating func rejected(user: String) -> Invalid {
        valid(user: user, deliverable: false, eventName: "stub:reject")
        let id = "reject-\(counter)"
        records[records.count - 1].headers = [KafkaHeader(key: "e2e-id", string: id)]
        let entry = Invalid(
            id: id,
            key: records.last?.key,
            value: records.last?.value,
            expectedReasons: ["rejected"],
            expectedMessage: nil,
            stage: "delivery"
        )
        invalid.append(entry)
        return entry
    }

    /// Gives the last record an `e2e-id` header (to find it in the dead-letter topic).
    mutating func tagLast(id: String) {
        records[records.count - 1].headers = [KafkaHeader(key: "e2e-id", string: id)]
    }

    /// A record the transform must refuse (dead-lettered at stage `transform`).
    mutating func invalid(
        key: String?,
        value: [UInt8]?,
        reasons: Set<String>,
        message: String? = nil
    ) {
        let id = "invalid-\(counter)"
        let entry = Invalid(
            id: id, key: key.map { Array($0.utf8) }, value: value, expectedReasons: reasons, expectedMessage: message, stage: "transform")
        invalid.append(entry)
        append(key: key, value: value, headers: [KafkaHeader(key: "e2e-id", string: id), KafkaHeader(key: "origin", string: "e2e")])
    }

    /// The five kinds of bad input of the happy-path scenario, for `user`'s key.
    mutating func invalidMix(variant: Int, user: String) {
        switch variant % 5 {
        case 0:
            invalid(key: user, value: Array(#"{"type":"track","event":"Broken","userId":"\#(user)""#.utf8), reasons: ["invalid-json"])
        case 1:
            invalid(
                key: user,
                value: Array(#"{"type":"track","event":"No user","properties":{"a":1},"originalTimestamp":"2026-01-02T03:04:05Z"}"#.utf8),
                reasons: ["invalid-event"],
                message: #"Missing required value from "userIdOnly""#
            )
        case 2:
            invalid(
                key: user,
                value: Array(#"{"type":"alias","userId":"\#(user)","previousId":"old","originalTimestamp":"2026-01-02T03:04:05Z"}"#.utf8),
                reasons: ["invalid-event"],
                message: #"Event type "alias" is not supported"#
            )
        case 3:
            // Valid JSON but not an object: a transform error; the spec does not fix which of the two reasons.
            invalid(key: user, value: Array(#"["not","an","object"]"#.utf8), reasons: ["invalid-json", "invalid-event"])
        default:
            // Tombstone (null value).
            invalid(key: user, value: nil, reasons: ["invalid-json", "invalid-event"])
        }
    }

    /// Each user's number of valid events produced so far.
    func produced(user: String) -> Int { nextSeq[user, default: 0] }
}
