/// Reads fields from a JSON document (e.g. a June request body) without Foundation.
///
///     let fields = try JSONFieldReader.topLevelFields(body)
///     let userId = fields["userId"]?.scalarText
///     let seq = try JSONFieldReader.value(atPath: "properties.seq", in: body)?.int
///
/// The document is validated strictly (same rules as the transformer); invalid input throws a
/// ``TransformError`` with reason `invalid-json`.
///
/// `package`, not `public`: it serves the June stub and the tests of this package, not the transform's users.
package enum JSONFieldReader {
    /// Validates `bytes` and returns the whole document as a value.
    package static func parse(_ bytes: [UInt8]) throws(TransformError) -> JSONRawValue {
        var sink = NoSink()
        let kind = try bytes.withUnsafeBufferPointer { buffer throws(TransformError) in
            try JSONValidator.validate(buffer, sink: &sink)
        }
        // Trim surrounding whitespace so `bytes` is exactly the value.
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return JSONRawValue(kind: kind, bytes: Array(bytes[start..<end]))
    }

    /// The members of a top-level object (last duplicate wins).
    /// Throws `invalid-event` when the document is valid JSON but not an object.
    package static func topLevelFields(_ bytes: [UInt8]) throws(TransformError) -> [String: JSONRawValue] {
        let root = try parse(bytes)
        guard let members = root.members else {
            throw .invalidEvent("JSON must be an object")
        }
        var result: [String: JSONRawValue] = [:]
        for (key, value) in members { result[key] = value }
        return result
    }

    /// The value at a dotted path of member names (e.g. `"properties.seq"`), or nil.
    package static func value(atPath path: String, in bytes: [UInt8]) throws(TransformError) -> JSONRawValue? {
        try parse(bytes).value(atPath: path)
    }

    private static func isWhitespace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
    }

    private struct NoSink: JSONRootMemberSink {
        mutating func rootMember(key: JSONKeyRef, value: JSONValueRef) {}
    }
}
