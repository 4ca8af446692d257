import Foundation
import Kafka

/// The events of the batch-delivery scenarios: RudderStack JSON of all four types, keyed by userId,
/// each user's valid events numbered 0, 1, 2, … (`properties.seq` or `traits.seq`) so the stub's
/// order and duplicate checks apply. Unlike ``TestEvents`` an event may come without a `messageId`
/// (absent, or an empty string), so the relay must give it `<topic>-<partition>-<offset>`, and an
/// event may be padded to a given size. Every valid record carries an `idx` header (its index in
/// `records`), to find it again when the source topic is read back.
struct BatchEvents {
    enum MessageID {
        /// `"messageId":"bm-<index>"`.
        case own
        /// No `messageId` member.
        case absent
        /// `"messageId":""` (not a usable id: the relay must fall back as for an absent one).
        case empty
    }

    let topic: String
    /// Create time of every record (ms since epoch), for `june-relay.original.timestamp`.
    let timestamp: Int64
    private(set) var records: [KafkaProducerRecord] = []
    /// Valid events the stub should accept.
    private(set) var deliverable = 0
    private(set) var invalid: [TestEvents.Invalid] = []
    /// Indexes (in `records`) of deliverable events with their own messageId, and without one.
    private(set) var withOwnID: [Int] = []
    private(set) var withoutID: [Int] = []
    /// The part of `withoutID` written with `"messageId":""`.
    private(set) var withEmptyID: [Int] = []
    private var nextSeq: [String: Int] = [:]

    init(topic: String) {
        self.topic = topic
        self.timestamp = Int64(Date().timeIntervalSince1970 * 1000)
    }

    var count: Int { records.count }

    /// The messageId an event written with `.own` carries.
    static func ownID(index: Int) -> String { "bm-\(index)" }

    /// A valid event for `user`: identify, page, group or track by its seq (a track when `eventName`
    /// or `padding` is given). `padding` adds that many bytes to the track's properties.
    mutating func valid(
        user: String,
        messageID: MessageID = .own,
        eventName: String? = nil,
        padding: Int = 0,
        deliverable isDeliverable: Bool = true
    ) {
        let seq = nextSeq[user, default: 0]
        nextSeq[user] = seq + 1
        let index = records.count
        let id: String
        switch messageID {
        case .own: id = #""messageId":"\#(Self.ownID(index: index))","#
        case .absent: id = ""
        case .empty: id = #""messageId":"","#
        }
        let time = #""originalTimestamp":"2026-01-02T03:04:05.678Z""#
        let json: String
        switch eventName == nil && padding == 0 ? seq % 10 : -1 {
        case 0:
            json =
                #"{"type":"identify","userId":"\#(user)",\#(id)\#(time),"context":{"traits":{"seq":\#(seq),"email":"\#(user)@example.com"},"library":{"name":"e2e"}}}"#
        case 5:
            json = #"{"type":"page","userId":"\#(user)",\#(id)"name":"Pricing","properties":{"seq":\#(seq),"path":"/pricing"},\#(time)}"#
        case 9:
            json = #"{"type":"group","userId":"\#(user)",\#(id)"groupId":"org-\#(seq % 7)","traits":{"seq":\#(seq),"plan":"pro"},\#(time)}"#
        default:
            let pad = padding > 0 ? #","blob":"\#(String(repeating: "x", count: padding))""# : ""
            json =
                #"{"type":"track","event":"\#(eventName ?? "Batch Event")","userId":"\#(user)","anonymousId":"anon-\#(user)",\#(id)"properties":{"seq":\#(seq),"n":\#(index)\#(pad)},\#(time),"context":{"library":{"name":"e2e"}}}"#
        }
        records.append(
            KafkaProducerRecord(
                topic: topic, key: Array(user.utf8), value: Array(json.utf8),
                headers: [KafkaHeader(key: "idx", string: String(index))], timestamp: timestamp
            )
        )
        guard isDeliverable else { return }
        deliverable += 1
        if messageID == .own { withOwnID.append(index) } else { withoutID.append(index) }
        if messageID == .empty { withEmptyID.append(index) }
    }

    /// A track June answers 400 to (the stub rejects a whole batch holding a `stub:reject` item); it
    /// must be dead-lettered as `rejected` with status 400, and nothing else with it.
    mutating func rejected(user: String) {
        valid(user: user, eventName: "stub:reject", deliverable: false)
        let id = "reject-\(records.count - 1)"
        records[records.count - 1].headers = [KafkaHeader(key: "e2e-id", string: id)]
        invalid.append(
            TestEvents.Invalid(
                id: id, key: records.last?.key, value: records.last?.value, expectedReasons: ["rejected"], expectedMessage: nil,
                stage: "delivery"
            )
        )
    }

    /// A record the transform refuses (dead-lettered at stage `transform`), one of five kinds.
    mutating func invalidMix(variant: Int, user: String) {
        let value: [UInt8]?
        let reasons: Set<String>
        var message: String?
        switch variant % 5 {
        case 0:
            value = Array(#"{"type":"track","event":"Broken","userId":"\#(user)""#.utf8)
            reasons = ["invalid-json"]
        case 1:
            value = Array(#"{"type":"track","event":"No user","properties":{"a":1},"originalTimestamp":"2026-01-02T03:04:05Z"}"#.utf8)
            reasons = ["invalid-event"]
            message = #"Missing required value from "userIdOnly""#
        case 2:
            value = Array(#"{"type":"alias","userId":"\#(user)","previousId":"old","originalTimestamp":"2026-01-02T03:04:05Z"}"#.utf8)
            reasons = ["invalid-event"]
            message = #"Event type "alias" is not supported"#
        case 3:
            value = Array(#"["not","an","object"]"#.utf8)
            reasons = ["invalid-json", "invalid-event"]
        default:
            value = nil  // tombstone
            reasons = ["invalid-json", "invalid-event"]
        }
        let id = "invalid-\(records.count)"
        invalid.append(
            TestEvents.Invalid(
                id: id, key: Array(user.utf8), value: value, expectedReasons: reasons, expectedMessage: message, stage: "transform")
        )
        records.append(
            KafkaProducerRecord(
                topic: topic, key: Array(user.utf8), value: value,
                headers: [KafkaHeader(key: "e2e-id", string: id), KafkaHeader(key: "origin", string: "e2e")],
                timestamp: timestamp
            )
        )
    }

    /// Skewed users, as real traffic is: every fifth event comes from one of `users / 100` hot users,
    /// the rest from the others in turn (20% of the events from 1% of the users).
    static func skewedUser(index: Int, users: Int) -> String {
        let hot = max(1, users / 100)
        if index % 5 == 0 { return "u-\((index / 5) % hot)" }
        return "u-\(hot + (index - index / 5 - 1) % (users - hot))"
    }
}
