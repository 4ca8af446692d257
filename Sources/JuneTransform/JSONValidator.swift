/// Receives the members of the root object while ``JSONValidator`` validates a document.
protocol JSONRootMemberSink {
    mutating func rootMember(key: JSONKeyRef, value: JSONValueRef)
}

/// A strict, validating, non-recursive JSON scanner (RFC 8259) over UTF-8 bytes.
///
/// One pass checks the whole document: syntax, UTF-8 inside strings, no control characters in
/// strings, valid escapes, number grammar, nothing after the root value, and nesting of at most
/// ``maxDepth`` containers. It keeps an explicit bit stack instead of recursing, so arbitrarily deep
/// input cannot overflow the thread stack. Members of a root object are reported to a sink as byte
/// ranges; nothing is decoded and nothing is allocated unless nesting passes 64 levels.
///
/// Lone surrogate escapes (`"\ud800"`) are accepted, as JavaScript's `JSON.parse` accepts them.
struct JSONValidator {
    /// Maximum container nesting. Deeper input is rejected with `JSON nested deeper than 512 levels`.
    static let maxDepth = 512

    private let p: UnsafePointer<UInt8>
    private let n: Int
    private var i = 0

    // Container stack: one bit per level (1 = object), 64 levels in a register, spilling beyond.
    private var depth = 0
    private var bits: UInt64 = 0
    private var spilled: [UInt64] = []

    private init(_ p: UnsafePointer<UInt8>, _ n: Int) {
        self.p = p
        self.n = n
    }

    /// Validates `input` as one JSON text. For a root object, reports each member to `sink` in input
    /// order (duplicates included; the sink decides — last wins for JavaScript semantics).
    /// - Returns: the kind of the root value.
    static func validate<Sink: JSONRootMemberSink>(
        _ input: UnsafeBufferPointer<UInt8>,
        sink: inout Sink
    ) throws(TransformError) -> JSONKind {
        guard let base = input.baseAddress, input.count > 0 else {
            throw .invalidJSON("Invalid JSON: empty input")
        }
        var v = JSONValidator(base, input.count)
        return try v.run(&sink)
    }

    private mutating func run<Sink: JSONRootMemberSink>(_ sink: inout Sink) throws(TransformError) -> JSONKind {
        skipWhitespace()
        guard i < n else { throw .invalidJSON("Invalid JSON: empty input") }
        let rootKind = JSONKind(firstByte: p[i])
        let recordRoot = rootKind == .object
        var key = JSONKeyRef(start: 0, end: 0, hasEscapes: false)
        var valueStart = 0

        valueLoop: while true {
            // Parse one value starting at i (whitespace already skipped).
            guard i < n else { throw unexpectedEnd() }
            if recordRoot && depth == 1 { valueStart = i }
            let c = p[i]
            switch c {
            case UInt8(ascii: "{"):
                try push(object: true)
                i += 1
                skipWhitespace()
                guard i < n else { throw unexpectedEnd() }
                if p[i] == UInt8(ascii: "}") {
                    i += 1
                    pop()
                } else {
                    let k = try parseKey()
                    if depth == 1 { key = k }
                    continue valueLoop
                }
            case UInt8(ascii: "["):
                try push(object: false)
                i += 1
                skipWhitespace()
                guard i < n else { throw unexpectedEnd() }
                if p[i] == UInt8(ascii: "]") {
                    i += 1
                    pop()
                } else {
                    continue valueLoop
                }
            case UInt8(ascii: "\""):
                _ = try scanString()
            case UInt8(ascii: "t"):
                try literal("true")
            case UInt8(ascii: "f"):
                try literal("false")
            case UInt8(ascii: "n"):
                try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try scanNumber()
            default:
                throw unexpected()
            }

            // A value just ended at i.
            while true {
                if depth == 0 {
                    skipWhitespace()
                    guard i == n else {
                        throw .invalidJSON("Invalid JSON: unexpected data after the end of the value at byte \(i)")
                    }
                    return rootKind
                }
                if recordRoot && depth == 1 {
                    sink.rootMember(key: key, value: JSONValueRef(start: valueStart, end: i, kind: JSONKind(firstByte: p[valueStart])))
                }
                skipWhitespace()
                guard i < n else { throw unexpectedEnd() }
                let d = p[i]
                if bits & 1 == 1 {  // in an object
                    if d == UInt8(ascii: ",") {
                        i += 1
                        skipWhitespace()
                        let k = try parseKey()
                        if depth == 1 { key = k }
                        continue valueLoop
                    }
                    if d == UInt8(ascii: "}") {
                        i += 1
                        pop()
                        continue
                    }
                    throw unexpected(expected: "',' or '}'")
                } else {
                    if d == UInt8(ascii: ",") {
                        i += 1
                        skipWhitespace()
                        continue valueLoop
                    }
                    if d == UInt8(ascii: "]") {
                        i += 1
                        pop()
                        continue
                    }
                    throw unexpected(expected: "',' or ']'")
                }
            }
        }
    }

    // MARK: - Stack

    @inline(__always)
    private mutating func push(object: Bool) throws(TransformError) {
        guard depth < Self.maxDepth else {
            throw .invalidJSON("JSON nested deeper than \(Self.maxDepth) levels")
        }
        if depth > 0 && depth & 63 == 0 {
            spilled.append(bits)
            bits = 0
        }
        bits = (bits << 1) | (object ? 1 : 0)
        depth += 1
    }

    @inline(__always)
    private mutating func pop() {
        bits >>= 1
        depth -= 1
        if depth > 0 && depth & 63 == 0 {
            bits = spilled.removeLast()
        }
    }

    // MARK: - Tokens

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// Parses `"key"` then whitespace, `:` and whitespace; i ends at the value.
    private mutating func parseKey() throws(TransformError) -> JSONKeyRef {
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
    private mutating func scanString() throws(TransformError) -> Bool {
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
    private mutating func scanUTF8Sequence() throws(TransformError) {
        let start = i
        let b0 = p[i]
        var length: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: throw invalidUTF8(start)
        }
        guard i + length <= n else {
            // A sequence cut by the end of the input is invalid UTF-8 if what is there is wrong,
            // otherwise the document is simply truncated.
            for k in 1..<(n - i) where !(0x80...0xBF).contains(p[i + k]) { throw invalidUTF8(start) }
            throw unexpectedEnd()
        }
        let b1 = p[i + 1]
        guard b1 >= lo && b1 <= hi else { throw invalidUTF8(start) }
        if length > 2 {
            for k in 2..<length where p[i + k] & 0xC0 != 0x80 { throw invalidUTF8(start) }
        }
        i += length
    }

    private mutating func literal(_ word: StaticString) throws(TransformError) {
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

    private mutating func scanNumber() throws(TransformError) {
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

    private mutating func digits() throws(TransformError) {
        guard i < n else { throw unexpectedEnd() }
        guard isDigit(p[i]) else { throw unexpected(expected: "a digit") }
        i += 1
        while i < n && isDigit(p[i]) { i += 1 }
    }

    @inline(__always)
    private func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

    // MARK: - Errors

    private func unexpectedEnd() -> TransformError {
        .invalidJSON("Invalid JSON: unexpected end of input at byte \(n)")
    }

    private func invalidUTF8(_ at: Int) -> TransformError {
        .invalidJSON("Invalid UTF-8 at byte \(at)")
    }

    private func unexpected(expected: String? = nil) -> TransformError {
        guard i < n else { return unexpectedEnd() }
        let c = p[i]
        let shown = c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(JSONText.hex2(c))"
        let suffix = expected.map { ", expected \($0)" } ?? ""
        return .invalidJSON("Invalid JSON: unexpected \(shown) at byte \(i)\(suffix)")
    }
}
