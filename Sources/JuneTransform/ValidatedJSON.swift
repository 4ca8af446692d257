/// Read-only navigation over input that ``JSONValidator`` already accepted.
///
/// Because the bytes are known to be valid, skipping a value only needs to find where it ends
/// (strings: the unescaped closing quote; containers: the matching bracket outside strings).
/// Every loop still checks its bounds, so a caller bug cannot read past the buffer.
struct ValidatedJSON {
    let p: UnsafePointer<UInt8>
    let count: Int

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // Callers only build this for non-empty, validated input.
        self.p = buffer.baseAddress!
        self.count = buffer.count
    }

    @inline(__always)
    func skipWhitespace(_ i: inout Int, _ end: Int) {
        while i < end {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// i at an opening quote → i after the closing quote. Returns whether there were escapes.
    @inline(__always)
    func skipString(_ i: inout Int, _ end: Int) -> Bool {
        i += 1
        var escaped = false
        while i < end, p[i] != UInt8(ascii: "\"") {
            if p[i] == UInt8(ascii: "\\") { escaped = true }
            i += p[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        if i < end { i += 1 }
        return escaped
    }

    /// i at the first byte of a value → i after it.
    @inline(__always)
    func skipValue(_ i: inout Int, _ end: Int) {
        let c = p[i]
        if c == UInt8(ascii: "\"") {
            _ = skipString(&i, end)
        } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
            var depth = 0
            while i < end {
                let d = p[i]
                if d == UInt8(ascii: "\"") {
                    _ = skipString(&i, end)
                    continue
                }
                if d == UInt8(ascii: "{") || d == UInt8(ascii: "[") {
                    depth += 1
                } else if d == UInt8(ascii: "}") || d == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return
                    }
                }
                i += 1
            }
        } else {
            while i < end {
                let d = p[i]
                if d == UInt8(ascii: ",") || d == UInt8(ascii: "}") || d == UInt8(ascii: "]") || d == 0x20
                    || d == 0x0A || d == 0x0D || d == 0x09
                {
                    return
                }
                i += 1
            }
        }
    }

    /// Calls `body` for each member of an object value, in input order; `body` returns false to stop.
    @inline(__always)
    func forEachMember(of object: JSONValueRef, _ body: (JSONKeyRef, JSONValueRef) -> Bool) {
        guard object.kind == .object else { return }
        let end = object.end
        var i = object.start + 1
        while true {
            skipWhitespace(&i, end)
            guard i < end, p[i] == UInt8(ascii: "\"") else { return }
            let keyStart = i + 1
            let escaped = skipString(&i, end)
            let key = JSONKeyRef(start: keyStart, end: i - 1, hasEscapes: escaped)
            skipWhitespace(&i, end)
            i += 1  // ':'
            skipWhitespace(&i, end)
            guard i < end else { return }
            let valueStart = i
            skipValue(&i, end)
            guard body(key, JSONValueRef(start: valueStart, end: i, kind: JSONKind(firstByte: p[valueStart]))) else {
                return
            }
            skipWhitespace(&i, end)
            guard i < end, p[i] == UInt8(ascii: ",") else { return }
            i += 1
        }
    }

    /// Calls `body` for each element of an array value, in order; `body` returns false to stop.
    func forEachElement(of array: JSONValueRef, _ body: (JSONValueRef) -> Bool) {
        guard array.kind == .array else { return }
        let end = array.end
        var i = array.start + 1
        while true {
            skipWhitespace(&i, end)
            guard i < end, p[i] != UInt8(ascii: "]") else { return }
            let valueStart = i
            skipValue(&i, end)
            guard body(JSONValueRef(start: valueStart, end: i, kind: JSONKind(firstByte: p[valueStart]))) else {
                return
            }
            skipWhitespace(&i, end)
            guard i < end, p[i] == UInt8(ascii: ",") else { return }
            i += 1
        }
    }

    /// The last member named `name` (JavaScript `JSON.parse` semantics: last duplicate wins).
    func member(_ name: StaticString, of object: JSONValueRef) -> JSONValueRef? {
        var found: JSONValueRef?
        forEachMember(of: object) { key, value in
            if keyEquals(key, name) { found = value }
            return true
        }
        return found
    }

    /// Whether a key equals `name`, comparing decoded text when the key has escapes.
    @inline(__always)
    func keyEquals(_ key: JSONKeyRef, _ name: StaticString) -> Bool {
        rawEquals(start: key.start, end: key.end, hasEscapes: key.hasEscapes, name)
    }

    /// Whether a string value (quotes included in the range) decodes to `name`.
    func stringEquals(_ value: JSONValueRef, _ name: StaticString) -> Bool {
        guard value.kind == .string else { return false }
        let inner = value.end - value.start - 2
        let hasEscapes = inner > 0 && memchrBackslash(value.start + 1, value.end - 1)
        return rawEquals(start: value.start + 1, end: value.end - 1, hasEscapes: hasEscapes, name)
    }

    private func memchrBackslash(_ start: Int, _ end: Int) -> Bool {
        var i = start
        while i < end {
            if p[i] == UInt8(ascii: "\\") { return true }
            i += 1
        }
        return false
    }

    @inline(__always)
    private func rawEquals(start: Int, end: Int, hasEscapes: Bool, _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        let w = name.utf8Start
        if !hasEscapes {
            guard end - start == count else { return false }
            for k in 0..<count where p[start + k] != w[k] { return false }
            return true
        }
        let decoded = JSONText.decodeString(p, from: start, to: end)
        guard decoded.count == count else { return false }
        for k in 0..<count where decoded[k] != w[k] { return false }
        return true
    }

    /// The decoded text of a string value, or the raw JSON text of a number; nil for other kinds.
    func scalarText(_ value: JSONValueRef) -> String? {
        switch value.kind {
        case .string:
            let start = value.start + 1
            let end = value.end - 1
            if memchrBackslash(start, end) {
                return String(decoding: JSONText.decodeString(p, from: start, to: end), as: UTF8.self)
            }
            return String(decoding: UnsafeBufferPointer(start: p + start, count: end - start), as: UTF8.self)
        case .number:
            return String(decoding: UnsafeBufferPointer(start: p + value.start, count: value.end - value.start), as: UTF8.self)
        default:
            return nil
        }
    }

    /// The raw bytes of a range, for copying into the output.
    @inline(__always)
    func raw(_ start: Int, _ end: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: p + start, count: end - start)
    }
}
