import JuneTransform

/// One `POST /sdk/batch` body, in Segment's batch shape as June's SDKs send it:
/// `{"batch":[item, …],"sentAt":"…"}`, each item a June body plus `"type"` and `"messageId"`.
struct JuneStubBatch: Sendable, Equatable {
    /// Bodies above this many bytes are refused (June's SDKs keep batches under 500 KB).
    static let maxBodyBytes = 500_000

    var items: [JuneStubEventFields]

    /// Why a body is refused; every case is answered 400 with `{"error": message}`.
    enum Refusal: Error, Equatable {
        case tooLarge(bytes: Int)
        case notAnObject
        case missingBatch
        case batchNotAnArray
        case itemNotAnObject(index: Int)
        case invalidType(index: Int)
        case invalidMessageID(index: Int)

        var message: String {
            switch self {
            case .tooLarge(let bytes): "batch body is \(bytes) bytes, above the limit of \(JuneStubBatch.maxBodyBytes)"
            case .notAnObject: "body must be a JSON object"
            case .missingBatch: "missing \"batch\""
            case .batchNotAnArray: "\"batch\" must be an array"
            case .itemNotAnObject(let index): "batch[\(index)] must be an object"
            case .invalidType(let index): "batch[\(index)].type must be identify, track, group or page"
            case .invalidMessageID(let index): "batch[\(index)].messageId must be a non-empty string"
            }
        }

        /// The response body: `{"error":"…"}`.
        var body: [UInt8] {
            Array(#"{"error":\#(JuneStubResponder.jsonString(self.message))}"#.utf8)
        }
    }

    /// The items' fields, each read in one pass over its bytes while the body is validated.
    static func parse(_ body: [UInt8]) -> Result<JuneStubBatch, Refusal> {
        guard body.count <= Self.maxBodyBytes else { return .failure(.tooLarge(bytes: body.count)) }
        var refusal: Refusal?
        typealias Invalid = JuneStubJSONScanner.Invalid
        let items = JuneStubJSONScanner.scan(body) { scanner throws(Invalid) -> [JuneStubEventFields]? in
            var items: [JuneStubEventFields]?
            try scanner.members { scanner, key throws(Invalid) in
                guard scanner.text(key, equals: "batch") else { return try scanner.skipValue() }
                guard try scanner.peek() == UInt8(ascii: "[") else {
                    refusal = .batchNotAnArray
                    throw Invalid()
                }
                var list: [JuneStubEventFields] = []
                try scanner.elements { scanner throws(Invalid) in
                    let index = list.count
                    guard try scanner.peek() == UInt8(ascii: "{") else {
                        try scanner.skipValue()  // invalid JSON is reported as such
                        refusal = .itemNotAnObject(index: index)
                        throw Invalid()
                    }
                    let item = try scanner.eventFields()
                    if item.type.flatMap(JuneEventType.init(rawValue:)) == nil {
                        refusal = .invalidType(index: index)
                        throw Invalid()
                    }
                    if item.messageID == nil {
                        refusal = .invalidMessageID(index: index)
                        throw Invalid()
                    }
                    list.append(item)
                }
                items = list
            }
            try scanner.finish()
            return items
        }
        if let refusal { return .failure(refusal) }
        switch items {
        case .none: return .failure(.notAnObject)  // not JSON, or not an object
        case .some(.none): return .failure(.missingBatch)
        case .some(.some(let items)): return .success(JuneStubBatch(items: items))
        }
    }
}
