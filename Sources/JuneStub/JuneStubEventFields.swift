/// The few fields the stub looks at in one June body (a per-event request, or one item of a batch).
struct JuneStubEventFields: Sendable, Equatable {
    /// `userId` (string, or the text of a number), else `anonymousId`.
    var user: String?
    /// Integer at `properties.seq`, else `traits.seq`, else `context.seq`.
    var seq: Int?
    /// The `event` field (track), for the `stub:reject` hook.
    var event: String?
    /// The `userId` alone, for the `stub-fail-` hook.
    var userId: String?
    /// The `type` string (batch items carry one).
    var type: String? = nil
    /// The `messageId` when it is a non-empty string (batch items carry one).
    var messageID: String? = nil
    /// Whether the body is `{}`: the relay's probe of the per-event endpoints.
    var isEmpty = false

    /// The deterministic test hook: an event named `stub:reject` is refused with 400.
    var isRejectMarker: Bool { self.event == "stub:reject" }

    /// The deterministic test hook: a `userId` starting with `stub-fail-` is answered 503.
    var isFailingUser: Bool { self.userId?.hasPrefix("stub-fail-") ?? false }

    /// Validates that `body` is one JSON object and pulls out the fields in the same pass; nil when it
    /// is not a JSON object.
    static func parse(_ body: [UInt8]) -> JuneStubEventFields? {
        JuneStubJSONScanner.scan(body) { scanner throws(JuneStubJSONScanner.Invalid) in
            let fields = try scanner.eventFields()
            try scanner.finish()
            return fields
        }
    }
}

extension JuneStubJSONScanner {
    /// Reads the object at the cursor as a June body. Duplicate keys: the last one wins, as in
    /// JavaScript's `JSON.parse`.
    mutating func eventFields() throws(Invalid) -> JuneStubEventFields {
        var fields = JuneStubEventFields()
        var anonymousId: String?
        var propertiesSeq: Int?
        var traitsSeq: Int?
        var contextSeq: Int?
        var count = 0
        try self.members { scanner, key throws(Invalid) in
            count += 1
            switch key.end - key.start {
            case 4 where scanner.text(key, equals: "type"): fields.type = try scanner.stringValue()
            case 5 where scanner.text(key, equals: "event"): fields.event = try scanner.stringValue()
            case 6 where scanner.text(key, equals: "userId"): fields.userId = try scanner.identifier()
            case 6 where scanner.text(key, equals: "traits"): traitsSeq = try scanner.seq()
            case 7 where scanner.text(key, equals: "context"): contextSeq = try scanner.seq()
            case 9 where scanner.text(key, equals: "messageId"):
                let id = try scanner.stringValue()
                fields.messageID = id?.isEmpty == false ? id : nil
            case 10 where scanner.text(key, equals: "properties"): propertiesSeq = try scanner.seq()
            case 11 where scanner.text(key, equals: "anonymousId"): anonymousId = try scanner.identifier()
            case _ where key.escaped:
                try scanner.escapedMember(key, &fields, &anonymousId, &propertiesSeq, &traitsSeq, &contextSeq)
            default: try scanner.skipValue()
            }
        }
        fields.user = fields.userId ?? anonymousId
        fields.seq = propertiesSeq ?? traitsSeq ?? contextSeq
        fields.isEmpty = count == 0
        return fields
    }

    /// A key written with escapes (`"user\u0049d"`): the same fields, matched on the decoded name.
    private mutating func escapedMember(
        _ key: Text,
        _ fields: inout JuneStubEventFields,
        _ anonymousId: inout String?,
        _ propertiesSeq: inout Int?,
        _ traitsSeq: inout Int?,
        _ contextSeq: inout Int?
    ) throws(Invalid) {
        switch self.text(key) {
        case "type": fields.type = try self.stringValue()
        case "event": fields.event = try self.stringValue()
        case "userId": fields.userId = try self.identifier()
        case "traits": traitsSeq = try self.seq()
        case "context": contextSeq = try self.seq()
        case "messageId":
            let id = try self.stringValue()
            fields.messageID = id?.isEmpty == false ? id : nil
        case "properties": propertiesSeq = try self.seq()
        case "anonymousId": anonymousId = try self.identifier()
        default: try self.skipValue()
        }
    }

    /// A string's decoded text; nil (value skipped) for other kinds.
    mutating func stringValue() throws(Invalid) -> String? {
        guard try self.peek() == UInt8(ascii: "\"") else {
            try self.skipValue()
            return nil
        }
        return self.text(try self.string())
    }

    /// A string's text or a number's JSON text; nil for other kinds and for "".
    mutating func identifier() throws(Invalid) -> String? {
        switch try self.peek() {
        case UInt8(ascii: "\""):
            let text = try self.string()
            return text.isEmpty ? nil : self.text(text)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return self.text(try self.number())
        default:
            try self.skipValue()
            return nil
        }
    }

    /// The integer member `seq` of an object (last one wins); nil when absent, not an integer, or
    /// when the value is not an object.
    mutating func seq() throws(Invalid) -> Int? {
        guard try self.peek() == UInt8(ascii: "{") else {
            try self.skipValue()
            return nil
        }
        var seq: Int?
        try self.members { scanner, key throws(Invalid) in
            guard scanner.text(key, equals: "seq") else { return try scanner.skipValue() }
            switch try scanner.peek() {
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): seq = scanner.integer(try scanner.number())
            default:
                try scanner.skipValue()
                seq = nil
            }
        }
        return seq
    }
}
