/// A JSON value read by ``JSONFieldReader``: its kind and its raw JSON text, with accessors that
/// decode on demand. Meant for tests and the June stub, not the relay's hot path.
package struct JSONRawValue: Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    package let kind: Kind
    /// The value's raw JSON text, exactly as in the input (validated).
    package let bytes: [UInt8]

    init(kind: JSONKind, bytes: [UInt8]) {
        switch kind {
        case .object: self.kind = .object
        case .array: self.kind = .array
        case .string: self.kind = .string
        case .number: self.kind = .number
        case .true, .false: self.kind = .bool
        case .null: self.kind = .null
        }
        self.bytes = bytes
    }

    /// The raw JSON text as a `String`, e.g. `"abc"` (with quotes) or `9007199254740993`.
    package var jsonText: String { String(decoding: bytes, as: UTF8.self) }
    package var description: String { jsonText }

    package var isNull: Bool { kind == .null }

    /// The decoded text of a string value; nil for other kinds.
    package var string: String? {
        guard kind == .string else { return nil }
        return withJSON { json, whole in json.scalarText(whole) }
    }

    /// An integer number that fits in `Int` (no fraction or exponent); nil otherwise.
    package var int: Int? {
        guard kind == .number else { return nil }
        return Int(jsonText)
    }

    /// A number as `Double` (may round); nil for other kinds.
    package var double: Double? {
        guard kind == .number else { return nil }
        return Double(jsonText)
    }

    package var bool: Bool? {
        guard kind == .bool else { return nil }
        return bytes.first == UInt8(ascii: "t")
    }

    /// The string's text, or a number's JSON text — handy for ids that may be either.
    package var scalarText: String? {
        kind == .number ? jsonText : string
    }

    /// The member `name` of an object (last duplicate wins); nil if absent or not an object.
    package subscript(_ name: String) -> JSONRawValue? {
        guard kind == .object else { return nil }
        let target = Array(name.utf8)
        return withJSON { json, whole in
            var found: JSONRawValue?
            json.forEachMember(of: whole) { key, value in
                let keyBytes =
                    key.hasEscapes
                    ? JSONText.decodeString(json.p, from: key.start, to: key.end)
                    : Array(json.raw(key.start, key.end))
                if keyBytes == target { found = JSONRawValue(kind: value.kind, bytes: Array(json.raw(value.start, value.end))) }
                return true
            }
            return found
        }
    }

    /// Nested lookup by a dotted path of member names, e.g. `"properties.seq"` or `"context.groupId"`.
    package func value(atPath path: String) -> JSONRawValue? {
        var current: JSONRawValue? = self
        for component in path.split(separator: ".", omittingEmptySubsequences: false) {
            current = current?[String(component)]
        }
        return current
    }

    /// The members of an object in input order (duplicates included); nil if not an object.
    package var members: [(key: String, value: JSONRawValue)]? {
        guard kind == .object else { return nil }
        return withJSON { json, whole in
            var result: [(key: String, value: JSONRawValue)] = []
            json.forEachMember(of: whole) { key, value in
                let keyBytes = JSONText.decodeString(json.p, from: key.start, to: key.end)
                result.append(
                    (String(decoding: keyBytes, as: UTF8.self), JSONRawValue(kind: value.kind, bytes: Array(json.raw(value.start, value.end)))))
                return true
            }
            return result
        }
    }

    /// The elements of an array; nil if not an array.
    package var elements: [JSONRawValue]? {
        guard kind == .array else { return nil }
        return withJSON { json, whole in
            var result: [JSONRawValue] = []
            json.forEachElement(of: whole) { value in
                result.append(JSONRawValue(kind: value.kind, bytes: Array(json.raw(value.start, value.end))))
                return true
            }
            return result
        }
    }

    private func withJSON<R>(_ body: (ValidatedJSON, JSONValueRef) -> R?) -> R? {
        bytes.withUnsafeBufferPointer { buffer -> R? in
            guard buffer.count > 0 else { return nil }
            let json = ValidatedJSON(buffer)
            return body(json, JSONValueRef(start: 0, end: buffer.count, kind: JSONKind(firstByte: buffer[0])))
        }
    }
}
