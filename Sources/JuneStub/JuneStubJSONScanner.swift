import JuneTransform

/// A strict JSON scanner (RFC 8259: syntax, UTF-8 in strings, escapes, number grammar, nothing after
/// the root value, at most 512 nested containers) that reads the few fields the stub needs while it
/// validates, so each request body — or each item of a batch — is read in one pass.
///
/// The stub shares the machine with the relay in benchmarks, so this avoids Foundation and builds
/// nothing but the strings it returns. The handful of known levels (batch → items → event →
/// `properties`) are walked with `members`/`elements`; every other value is skipped by
/// `skipValue`, which keeps its own container stack instead of recursing, so deep input cannot
/// exhaust the thread stack.
struct JuneStubJSONScanner {
    struct Invalid: Error {}

    /// The contents of a string (between the quotes) as a byte range, and whether it has escapes.
    struct Text {
        var start: Int
        var end: Int
        var escaped: Bool
        var isEmpty: Bool { self.start == self.end }
    }

    static let maxDepth = 512

    let p: UnsafePointer<UInt8>
    let n: Int
    private(set) var i = 0
    /// Containers entered through `members`/`elements`; `skipValue` adds its own on top.
    private var depth = 0

    /// Runs `body` on a scanner over `bytes`; nil when the bytes are empty or invalid.
    static func scan<R>(_ bytes: [UInt8], _ body: (inout JuneStubJSONScanner) throws(Invalid) -> R) -> R? {
        bytes.withUnsafeBufferPointer { buffer -> R? in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return nil }
            var scanner = JuneStubJSONScanner(p: base, n: buffer.count)
            do {
                return try body(&scanner)
            } catch {
                return nil
            }
        }
    }

    private init(p: UnsafePointer<UInt8>, n: Int) {
        self.p = p
        self.n = n
    }

    // MARK: - Structure

    /// The next non-whitespace byte (not consumed).
    mutating func peek() throws(Invalid) -> UInt8 {
        self.skipWhitespace()
        guard self.i < self.n else { throw Invalid() }
        return self.p[self.i]
    }

    /// Only whitespace may follow the root value.
    mutating func finish() throws(Invalid) {
        self.skipWhitespace()
        guard self.i == self.n else { throw Invalid() }
    }

    /// Reads the object at the cursor; `body` gets each key and must consume exactly one value.
    mutating func members(_ body: (inout JuneStubJSONScanner, Text) throws(Invalid) -> Void) throws(Invalid) {
        guard try self.peek() == UInt8(ascii: "{") else { throw Invalid() }
        try self.enter()
        self.i += 1
        if try self.peek() == UInt8(ascii: "}") {
            self.i += 1
            self.depth -= 1
            return
        }
        while true {
            let key = try self.key()
            try body(&self, key)
            switch try self.peek() {
            case UInt8(ascii: ","): self.i += 1
            case UInt8(ascii: "}"):
                self.i += 1
                self.depth -= 1
                return
            default: throw Invalid()
            }
        }
    }

    /// Reads the array at the cursor; `body` must consume exactly one value per call.
    mutating func elements(_ body: (inout JuneStubJSONScanner) throws(Invalid) -> Void) throws(Invalid) {
        guard try self.peek() == UInt8(ascii: "[") else { throw Invalid() }
        try self.enter()
        self.i += 1
        if try self.peek() == UInt8(ascii: "]") {
            self.i += 1
            self.depth -= 1
            return
        }
        while true {
            _ = try self.peek()
            try body(&self)
            switch try self.peek() {
            case UInt8(ascii: ","): self.i += 1
            case UInt8(ascii: "]"):
                self.i += 1
                self.depth -= 1
                return
            default: throw Invalid()
            }
        }
    }

    /// Validates and steps over one value of any kind.
    mutating func skipValue() throws(Invalid) {
        // One bit per open container (1 = object), 64 in a register, spilling beyond.
        var bits: UInt64 = 0
        var spilled: [UInt64] = []
        var level = 0
        let outer = self.depth

        func push(_ object: Bool) throws(Invalid) {
            guard outer + level < Self.maxDepth else { throw Invalid() }
            if level > 0 && level & 63 == 0 {
                spilled.append(bits)
                bits = 0
            }
            bits = bits << 1 | (object ? 1 : 0)
            level += 1
        }
        func pop() {
            bits >>= 1
            level -= 1
            if level > 0 && level & 63 == 0 { bits = spilled.removeLast() }
        }

        valueLoop: while true {
            switch try self.peek() {
            case UInt8(ascii: "{"):
                try push(true)
                self.i += 1
                if try self.peek() == UInt8(ascii: "}") {
                    self.i += 1
                    pop()
                } else {
                    _ = try self.key()
                    continue valueLoop
                }
            case UInt8(ascii: "["):
                try push(false)
                self.i += 1
                if try self.peek() == UInt8(ascii: "]") {
                    self.i += 1
                    pop()
                } else {
                    continue valueLoop
                }
            case UInt8(ascii: "\""): _ = try self.string()
            case UInt8(ascii: "t"): try self.literal("true")
            case UInt8(ascii: "f"): try self.literal("false")
            case UInt8(ascii: "n"): try self.literal("null")
            default: _ = try self.number()
            }
            // A value ended: close containers until another value is due.
            while level > 0 {
                let c = try self.peek()
                if c == UInt8(ascii: ",") {
                    self.i += 1
                    if bits & 1 == 1 { _ = try self.key() }
                    continue valueLoop
                }
                guard c == (bits & 1 == 1 ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { throw Invalid() }
                self.i += 1
                pop()
            }
            return
        }
    }

    // MARK: - Scalars

    /// A string at the cursor → its contents.
    mutating func string() throws(Invalid) -> Text {
        guard try self.peek() == UInt8(ascii: "\"") else { throw Invalid() }
        self.i += 1
        let start = self.i
        var escaped = false
        while true {
            while self.i < self.n {
                let c = self.p[self.i]
                guard c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") else { break }
                self.i += 1
            }
            guard self.i < self.n else { throw Invalid() }
            let c = self.p[self.i]
            if c == UInt8(ascii: "\"") {
                self.i += 1
                return Text(start: start, end: self.i - 1, escaped: escaped)
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                guard self.i + 1 < self.n else { throw Invalid() }
                switch self.p[self.i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    self.i += 2
                case UInt8(ascii: "u"):
                    guard self.i + 5 < self.n else { throw Invalid() }
                    for k in 2...5 where !Self.isHexDigit(self.p[self.i + k]) { throw Invalid() }
                    self.i += 6
                default:
                    throw Invalid()
                }
                continue
            }
            guard c >= 0x80 else { throw Invalid() }  // an unescaped control character
            try self.utf8Sequence()
        }
    }

    /// A number at the cursor → its byte range.
    mutating func number() throws(Invalid) -> Range<Int> {
        _ = try self.peek()
        let start = self.i
        if self.p[self.i] == UInt8(ascii: "-") { self.i += 1 }
        guard self.i < self.n else { throw Invalid() }
        if self.p[self.i] == UInt8(ascii: "0") {
            self.i += 1
        } else {
            try self.digits()
        }
        if self.i < self.n && self.p[self.i] == UInt8(ascii: ".") {
            self.i += 1
            try self.digits()
        }
        if self.i < self.n && (self.p[self.i] == UInt8(ascii: "e") || self.p[self.i] == UInt8(ascii: "E")) {
            self.i += 1
            if self.i < self.n && (self.p[self.i] == UInt8(ascii: "+") || self.p[self.i] == UInt8(ascii: "-")) {
                self.i += 1
            }
            try self.digits()
        }
        return start..<self.i
    }

    // MARK: - Tokens

    private mutating func skipWhitespace() {
        while self.i < self.n {
            let c = self.p[self.i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            self.i += 1
        }
    }

    /// `"key"` then `:`; the cursor ends before the value.
    private mutating func key() throws(Invalid) -> Text {
        let key = try self.string()
        guard try self.peek() == UInt8(ascii: ":") else { throw Invalid() }
        self.i += 1
        _ = try self.peek()
        return key
    }

    private mutating func enter() throws(Invalid) {
        guard self.depth < Self.maxDepth else { throw Invalid() }
        self.depth += 1
    }

    private mutating func literal(_ word: StaticString) throws(Invalid) {
        let count = word.utf8CodeUnitCount
        guard self.i + count <= self.n else { throw Invalid() }
        for k in 0..<count where self.p[self.i + k] != word.utf8Start[k] { throw Invalid() }
        self.i += count
    }

    private mutating func digits() throws(Invalid) {
        guard self.i < self.n, self.p[self.i] &- UInt8(ascii: "0") < 10 else { throw Invalid() }
        self.i += 1
        while self.i < self.n && self.p[self.i] &- UInt8(ascii: "0") < 10 { self.i += 1 }
    }

    /// One multi-byte UTF-8 sequence at the cursor (Unicode Table 3-7).
    private mutating func utf8Sequence() throws(Invalid) {
        guard let (length, second) = JSONText.utf8Sequence(lead: self.p[self.i]) else { throw Invalid() }
        guard self.i + length <= self.n else { throw Invalid() }
        guard second.contains(self.p[self.i + 1]) else { throw Invalid() }
        for k in 2..<max(2, length) where self.p[self.i + k] & 0xC0 != 0x80 { throw Invalid() }
        self.i += length
    }

    private static func isHexDigit(_ c: UInt8) -> Bool {
        c &- UInt8(ascii: "0") < 10 || (c | 0x20) &- UInt8(ascii: "a") < 6
    }
}
