/// Applies the transform rules (docs/design.md, "Transform") to one validated event and writes the June body.
///
/// Kept values are appended as their raw input bytes; only the objects that lose members
/// (`context`, `properties`, `traits`) are walked member by member.
struct JuneBodyBuilder {
    let json: ValidatedJSON
    let fields: EventFields
    private var out: [UInt8] = []
    private var empty = true

    init(json: ValidatedJSON, fields: EventFields, capacity: Int) {
        self.json = json
        self.fields = fields
        out.reserveCapacity(capacity)
    }

    mutating func build(_ type: JuneEventType) throws(TransformError) -> JuneRequest {
        let traits = fields.traits.present
        let context = fields.context.present.flatMap { $0.isObject ? $0 : nil }
        let contextTraits = context.flatMap { json.member("traits", of: $0) }.present
        let userId = resolveUserId(traits: traits, contextTraits: contextTraits)
        let timestamp = fields.timestamp.present ?? fields.originalTimestamp.present
        let anonymousId = fields.anonymousId.present

        switch type {
        case .identify:
            guard let userId else { throw .missingRequired("userIdOnly") }
            guard let timestamp else { throw .missingRequired("timestamp") }
            field("anonymousId", anonymousId)
            field("userId", userId)
            field("traits", contextTraits ?? traits)
            field("timestamp", timestamp)
            filteredContext(context, groupId: nil)

        case .track:
            try track(userId: userId, anonymousId: anonymousId, timestamp: timestamp, context: context)

        case .group:
            let groupId = fields.groupId.present ?? traitsGroupId(traits)
            guard let groupId else { throw .missingRequired("groupId") }
            guard let timestamp else { throw .missingRequired("timestamp") }
            field("anonymousId", anonymousId)
            field("userId", userId)
            field("groupId", groupId)
            if let groupTraits = traits ?? contextTraits { withoutGroupId("traits", groupTraits) }
            field("timestamp", timestamp)
            filteredContext(context, groupId: nil)

        case .page:
            guard let properties = fields.properties.present else { throw .missingRequired("properties") }
            field("anonymousId", anonymousId)
            field("userId", userId)
            withoutGroupId("properties", properties)
            field("timestamp", timestamp)
            filteredContext(context, groupId: fields.groupId.present ?? traitsGroupId(traits))
        }

        if empty { out.append(UInt8(ascii: "{")) }
        out.append(UInt8(ascii: "}"))
        return JuneRequest(
            type: type,
            body: out,
            orderingKey: orderingKey(userId: userId, anonymousId: anonymousId),
            messageID: messageID()
        )
    }

    /// The members of a track body: the event and its properties, and as context only the June group id
    /// when the event names one.
    private mutating func track(
        userId: JSONValueRef?,
        anonymousId: JSONValueRef?,
        timestamp: JSONValueRef?,
        context: JSONValueRef?
    ) throws(TransformError) {
        guard let userId else { throw .missingRequired("userIdOnly") }
        guard let event = fields.event.present else { throw .missingRequired("event") }
        guard let timestamp else { throw .missingRequired("timestamp") }
        let properties = fields.properties.present
        field("anonymousId", anonymousId)
        field("userId", userId)
        field("event", event)
        if let properties { withoutGroupId("properties", properties) }
        field("timestamp", timestamp)
        let propertiesGroupId = properties.flatMap { $0.isObject ? json.member("groupId", of: $0) : nil }.present
        if let groupId = juneGroupIdFromExternalId(context) ?? propertiesGroupId {
            key("context")
            out.appendStatic("{\"groupId\":")
            raw(groupId)
            out.append(UInt8(ascii: "}"))
        } else {
            filteredContext(context, groupId: nil)
        }
    }

    // MARK: - Resolution

    /// userId: the first present of userId, traits.userId, traits.id, context.traits.userId, context.traits.id.
    private func resolveUserId(traits: JSONValueRef?, contextTraits: JSONValueRef?) -> JSONValueRef? {
        if let v = fields.userId.present { return v }
        if let v = idMembers(traits) { return v }
        return idMembers(contextTraits)
    }

    /// `userId` else `id` of an object (each last-wins), present only.
    private func idMembers(_ object: JSONValueRef?) -> JSONValueRef? {
        guard let object, object.isObject else { return nil }
        var userId: JSONValueRef?
        var id: JSONValueRef?
        json.forEachMember(of: object) { key, value in
            if json.keyEquals(key, "userId") {
                userId = value
            } else if json.keyEquals(key, "id") {
                id = value
            }
            return true
        }
        return userId.present ?? id.present
    }

    private func traitsGroupId(_ traits: JSONValueRef?) -> JSONValueRef? {
        guard let traits, traits.isObject else { return nil }
        return json.member("groupId", of: traits).present
    }

    /// `id` of the first `context.externalId` entry whose `type` is `"juneGroupId"`, when present.
    private func juneGroupIdFromExternalId(_ context: JSONValueRef?) -> JSONValueRef? {
        guard let context, let externalId = json.member("externalId", of: context), externalId.kind == .array else {
            return nil
        }
        var result: JSONValueRef?
        json.forEachElement(of: externalId) { entry in
            guard entry.isObject, let type = json.member("type", of: entry), json.stringEquals(type, "juneGroupId")
            else { return true }
            result = json.member("id", of: entry).present
            return false
        }
        return result
    }

    /// The ordering key (docs/design.md, "Ordering"): the resolved userId (string text or number text), else anonymousId.
    private func orderingKey(userId: JSONValueRef?, anonymousId: JSONValueRef?) -> String? {
        if let userId, let text = json.scalarText(userId) { return text }
        if let anonymousId, let text = json.scalarText(anonymousId) { return text }
        return nil
    }

    /// The top-level `messageId` when it is a non-empty string (decoded text); other kinds are ignored.
    private func messageID() -> String? {
        guard let value = fields.messageId, value.kind == .string, value.end - value.start > 2 else { return nil }
        return json.scalarText(value)
    }

    // MARK: - Writing

    @inline(__always)
    private mutating func key(_ name: StaticString) {
        out.append(empty ? UInt8(ascii: "{") : UInt8(ascii: ","))
        empty = false
        out.append(UInt8(ascii: "\""))
        out.appendStatic(name)
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    @inline(__always)
    private mutating func raw(_ value: JSONValueRef) {
        out.append(contentsOf: json.raw(value.start, value.end))
    }

    @inline(__always)
    private mutating func field(_ name: StaticString, _ value: JSONValueRef?) {
        guard let value else { return }
        key(name)
        raw(value)
    }

    /// Writes an object minus its `groupId` members (kept as `{}` if nothing else is left);
    /// a value that is not an object is copied as it is.
    private mutating func withoutGroupId(_ name: StaticString, _ value: JSONValueRef) {
        key(name)
        guard value.isObject else { return raw(value) }
        var first = true
        let json = self.json
        json.forEachMember(of: value) { k, v in
            if !json.keyEquals(k, "groupId") { member(k, v, first: &first) }
            return true
        }
        if first { out.append(UInt8(ascii: "{")) }
        out.append(UInt8(ascii: "}"))
    }

    /// The body's context: input context minus page, traits, sessionId, sessionStart, consentManagement,
    /// plus `groupId` when given (page); left out when nothing remains. A context that is not an
    /// object is left out.
    private mutating func filteredContext(_ context: JSONValueRef?, groupId: JSONValueRef?) {
        let mark = out.count
        let wasEmpty = empty
        key("context")
        var first = true
        let json = self.json
        if let context {
            json.forEachMember(of: context) { k, v in
                if !isDroppedContextKey(k, dropGroupId: groupId != nil) { member(k, v, first: &first) }
                return true
            }
        }
        if let groupId {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.appendStatic("\"groupId\":")
            raw(groupId)
        }
        if first {
            out.removeSubrange(mark...)
            empty = wasEmpty
            return
        }
        out.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    private mutating func member(_ k: JSONKeyRef, _ v: JSONValueRef, first: inout Bool) {
        out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
        first = false
        out.append(contentsOf: json.raw(k.start - 1, k.end + 1))
        out.append(UInt8(ascii: ":"))
        raw(v)
    }

    @inline(__always)
    private func isDroppedContextKey(_ k: JSONKeyRef, dropGroupId: Bool) -> Bool {
        if k.hasEscapes {
            return json.keyEquals(k, "page") || json.keyEquals(k, "traits") || json.keyEquals(k, "sessionId")
                || json.keyEquals(k, "sessionStart") || json.keyEquals(k, "consentManagement")
                || (dropGroupId && json.keyEquals(k, "groupId"))
        }
        switch k.end - k.start {
        case 4: return json.keyEquals(k, "page")
        case 6: return json.keyEquals(k, "traits")
        case 7: return dropGroupId && json.keyEquals(k, "groupId")
        case 9: return json.keyEquals(k, "sessionId")
        case 12: return json.keyEquals(k, "sessionStart")
        case 17: return json.keyEquals(k, "consentManagement")
        default: return false
        }
    }
}
