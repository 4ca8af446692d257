/// The top-level members of an event that the June destination reads; everything else is ignored.
/// Filled by ``JSONValidator`` while it validates; a later duplicate key replaces an earlier one
/// (JavaScript `JSON.parse` semantics).
struct EventFields: JSONRootMemberSink {
    let p: UnsafePointer<UInt8>

    var type: JSONValueRef?
    var userId: JSONValueRef?
    var anonymousId: JSONValueRef?
    var traits: JSONValueRef?
    var context: JSONValueRef?
    var timestamp: JSONValueRef?
    var originalTimestamp: JSONValueRef?
    var event: JSONValueRef?
    var properties: JSONValueRef?
    var groupId: JSONValueRef?
    /// Not part of the body: carried on the request as ``JuneRequest/messageID``.
    var messageId: JSONValueRef?

    init(_ p: UnsafePointer<UInt8>) {
        self.p = p
    }

    mutating func rootMember(key: JSONKeyRef, value: JSONValueRef) {
        if key.hasEscapes {
            let decoded = JSONText.decodeString(p, from: key.start, to: key.end)
            decoded.withUnsafeBufferPointer { store(key: $0, value: value) }
        } else {
            store(key: UnsafeBufferPointer(start: p + key.start, count: key.end - key.start), value: value)
        }
    }

    @inline(__always)
    private mutating func store(key k: UnsafeBufferPointer<UInt8>, value: JSONValueRef) {
        switch k.count {
        case 4: if Self.equal(k, "type") { type = value }
        case 5: if Self.equal(k, "event") { event = value }
        case 6:
            if Self.equal(k, "userId") {
                userId = value
            } else if Self.equal(k, "traits") {
                traits = value
            }
        case 7:
            if Self.equal(k, "context") {
                context = value
            } else if Self.equal(k, "groupId") {
                groupId = value
            }
        case 9:
            if Self.equal(k, "timestamp") {
                timestamp = value
            } else if Self.equal(k, "messageId") {
                messageId = value
            }
        case 10: if Self.equal(k, "properties") { properties = value }
        case 11: if Self.equal(k, "anonymousId") { anonymousId = value }
        case 17: if Self.equal(k, "originalTimestamp") { originalTimestamp = value }
        default: break
        }
    }

    @inline(__always)
    private static func equal(_ k: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        let w = name.utf8Start
        for i in 0..<k.count where k[i] != w[i] { return false }
        return true
    }
}

extension Optional where Wrapped == JSONValueRef {
    /// The value when it is present in RudderStack's sense (not absent, not null, not `""`; see ``JSONValueRef``).
    @inline(__always)
    var present: JSONValueRef? {
        guard let v = self, v.isPresent else { return nil }
        return v
    }
}
