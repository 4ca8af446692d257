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

    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0

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
}
