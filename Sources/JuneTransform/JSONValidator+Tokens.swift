// The token scanners and error messages of ``JSONValidator``.
extension JSONValidator {
    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// Parses `"key"` then whitespace, `:` and whitespace; i ends at the value.
    mutating func parseKey() throws(TransformError) -> JSONKeyRef {
        guard i < n else { throw unexpectedEnd() }
        guard p[i] == UInt8(ascii: "\"") else { throw unexpected(expected: "'\"' (an object key)") }
        let start = i + 1
        let escaped = try scanString()
        let key = JSONKeyRef(start: start, end: i - 1, hasEscapes: escaped)
        skipWhitespace()
        guard i < n else { throw unexpectedEnd() }
        guard p[i] == UInt8(ascii: ":") else { throw unexpected(expected: "':'") }
        i += 1
        skipWhitespace()
        return key
    }

    /// Scans a string starting at its opening quote; i ends after the closing quote.
    /// - Returns: whether the string contains escape sequences.
    mutating func scanString() throws(TransformError) -> Bool {
        i += 1
        var escaped = false
        while true {
            // Fast path: plain ASCII.
            while i < n {
                let c = p[i]
                guard c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") else { break }
                i += 1
            }
            guard i < n else { throw unexpectedEnd() }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return escaped
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                guard i + 1 < n else { throw unexpectedEnd() }
                switch p[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < n else { throw unexpectedEnd() }
                    for k in 2...5 where JSONText.hexValue(p[i + k]) == nil {
                        throw .invalidJSON("Invalid JSON: invalid \\u escape at byte \(i)")
                    }
                    i += 6
                default:
                    throw .invalidJSON("Invalid JSON: invalid escape sequence at byte \(i)")
                }
                continue
            }
            if c < 0x20 {
                throw .invalidJSON("Invalid JSON: unescaped control character in string at byte \(i)")
            }
            try scanUTF8Sequence()
        }
    }

    /// Validates one multi-byte UTF-8 sequence at i (Unicode Table 3-7) and steps over it.
    mutating func scanUTF8Sequence() throws(TransformError) {
        let start = i
        guard let (length, second) = JSONText.utf8Sequence(lead: p[i]) else { throw invalidUTF8(start) }
        guard i + length <= n else {
            // A sequence cut by the end of the input is invalid UTF-8 if what is there is wrong,
            // otherwise the document is simply truncated.
            for k in 1..<(n - i) where !(0x80...0xBF).contains(p[i + k]) { throw invalidUTF8(start) }
            throw unexpectedEnd()
        }
        guard second.contains(p[i + 1]) else { throw invalidUTF8(start) }
        if length > 2 {
            for k in 2..<length where p[i + k] & 0xC0 != 0x80 { throw invalidUTF8(start) }
        }
        i += length
    }

    mutating func literal(_ word: StaticString) throws(TransformError) {
        let count = word.utf8CodeUnitCount
        let w = word.utf8Start
        for k in 0..<count {
            guard i + k < n else { throw unexpectedEnd() }
            guard p[i + k] == w[k] else {
                i += k
                throw unexpected()
            }
        }
        i += count
    }

    mutating func scanNumber() throws(TransformError) {
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw unexpectedEnd() }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else if isDigit(p[i]) {
            i += 1
            while i < n && isDigit(p[i]) { i += 1 }
        } else {
            throw unexpected(expected: "a digit")
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            try digits()
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            try digits()
        }
    }

    mutating func digits() throws(TransformError) {
        guard i < n else { throw unexpectedEnd() }
        guard isDigit(p[i]) else { throw unexpected(expected: "a digit") }
        i += 1
        while i < n && isDigit(p[i]) { i += 1 }
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    // MARK: - Errors

    func unexpectedEnd() -> TransformError {
        .invalidJSON("Invalid JSON: unexpected end of input at byte \(n)")
    }

    func invalidUTF8(_ at: Int) -> TransformError {
        .invalidJSON("Invalid UTF-8 at byte \(at)")
    }

    func unexpected(expected: String? = nil) -> TransformError {
        guard i < n else { return unexpectedEnd() }
        let c = p[i]
        let shown = c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(JSONText.hex2(c))"
        let suffix = expected.map { ", expected \($0)" } ?? ""
        return .invalidJSON("Invalid JSON: unexpected \(shown) at byte \(i)\(suffix)")
    }
}
