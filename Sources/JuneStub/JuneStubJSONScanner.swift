/// A validating single-pass JSON scanner that extracts only what `JuneStubEventFields` needs.
struct JuneStubJSONScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private static let maxDepth = 64

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Scans a whole document that must be exactly one object.
    mutating func scanEvent() -> JuneStubEventFields? {
        var fields = JuneStubEventFields()
        var anonymousId: String?
        // The first of properties/traits/context (in that priority) that has an integer seq.
        var seqs: [Int?] = [nil, nil, nil]
        let ok = self.scanObject { scanner, key in
            switch key {
            case "userId":
                fields.userId = scanner.scanIdentifier()
                return fields.userId != nil || scanner.lastValueWasSkipped
            case "anonymousId":
                anonymousId = scanner.scanIdentifier()
                return anonymousId != nil || scanner.lastValueWasSkipped
            case "event":
                if scanner.peek() == UInt8(ascii: "\"") {
                    fields.event = scanner.scanString()
                    return fields.event != nil
                }
                return scanner.skipValue(depth: 1)
            case "properties", "traits", "context":
                let slot = key == "properties" ? 0 : key == "traits" ? 1 : 2
                guard scanner.peek() == UInt8(ascii: "{") else { return scanner.skipValue(depth: 1) }
                return scanner.scanObject(depth: 1) { scanner, nestedKey in
                    if nestedKey == "seq", let next = scanner.peek(),
                        next == UInt8(ascii: "-") || (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9"))
                    {
                        guard let text = scanner.scanNumber() else { return false }
                        seqs[slot] = Int(text)
                        return true
                    }
                    return scanner.skipValue(depth: 2)
                }
            default:
                return scanner.skipValue(depth: 1)
            }
        }
        guard ok else { return nil }
        self.skipWhitespace()
        guard self.index == self.bytes.count else { return nil }
        fields.user = fields.userId ?? anonymousId
        fields.seq = seqs[0] ?? seqs[1] ?? seqs[2]
        return fields
    }

    // MARK: - Values

    private(set) var lastValueWasSkipped = false

    /// A string (non-empty) or the text of a number; anything else is skipped and gives nil.
    private mutating func scanIdentifier() -> String? {
        self.lastValueWasSkipped = false
        switch self.peek() ?? 0 {
        case UInt8(ascii: "\""):
            guard let text = self.scanString() else { return nil }
            if text.isEmpty { self.lastValueWasSkipped = true }
            return text.isEmpty ? nil : text
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return self.scanNumber()
        default:
            self.lastValueWasSkipped = self.skipValue(depth: 1)
            return nil
        }
    }

    /// `{ "key": value, … }`; `member` is called positioned at each value and must consume it.
    private mutating func scanObject(depth: Int = 0, member: (inout JuneStubJSONScanner, String) -> Bool) -> Bool {
        guard depth < Self.maxDepth else { return false }
        self.skipWhitespace()
        guard self.consume(UInt8(ascii: "{")) else { return false }
        self.skipWhitespace()
        if self.consume(UInt8(ascii: "}")) { return true }
        while true {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: "\""), let key = self.scanString() else { return false }
            self.skipWhitespace()
            guard self.consume(UInt8(ascii: ":")) else { return false }
            self.skipWhitespace()
            guard member(&self, key) else { return false }
            self.skipWhitespace()
            if self.consume(UInt8(ascii: ",")) { continue }
            return self.consume(UInt8(ascii: "}"))
        }
    }

    mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth else { return false }
        self.skipWhitespace()
        guard let byte = self.peek() else { return false }
        switch byte {
        case UInt8(ascii: "{"):
            return self.scanObject(depth: depth) { scanner, _ in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            self.index += 1
            self.skipWhitespace()
            if self.consume(UInt8(ascii: "]")) { return true }
            while true {
                guard self.skipValue(depth: depth + 1) else { return false }
                self.skipWhitespace()
                if self.consume(UInt8(ascii: ",")) { continue }
                return self.consume(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "\""):
            return self.skipString()
        case UInt8(ascii: "t"):
            return self.consumeLiteral("true")
        case UInt8(ascii: "f"):
            return self.consumeLiteral("false")
        case UInt8(ascii: "n"):
            return self.consumeLiteral("null")
        default:
            return self.scanNumber() != nil
        }
    }

    /// A JSON number; returns its text.
    mutating func scanNumber() -> String? {
        let start = self.index
        _ = self.consume(UInt8(ascii: "-"))
        guard self.skipDigits() > 0 else { return nil }
        if self.consume(UInt8(ascii: ".")) {
            guard self.skipDigits() > 0 else { return nil }
        }
        if self.consume(UInt8(ascii: "e")) || self.consume(UInt8(ascii: "E")) {
            if !self.consume(UInt8(ascii: "+")) { _ = self.consume(UInt8(ascii: "-")) }
            guard self.skipDigits() > 0 else { return nil }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
    }

    /// A JSON string, unescaped.
    mutating func scanString() -> String? {
        guard self.consume(UInt8(ascii: "\"")) else { return nil }
        let start = self.index
        var hasEscapes = false
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                self.index += 1
                return hasEscapes ? Self.unescape(raw) : String(decoding: raw, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                self.index += 2
                continue
            }
            if byte < 0x20 { return nil }
            self.index += 1
        }
        return nil
    }

    private mutating func skipString() -> Bool {
        guard self.consume(UInt8(ascii: "\"")) else { return false }
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                self.index += 1
                return true
            }
            if byte < 0x20 { return false }
            self.index += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        return false
    }

    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        var i = 0
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= raw.count else { return nil }
            var value: UInt32 = 0
            for byte in raw[at..<at + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                i += 1
                continue
            }
            guard i + 1 < raw.count else { return nil }
            let escaped = raw[i + 1]
            i += 2
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                guard var code = hex4(i) else { return nil }
                i += 4
                if (0xD800..<0xDC00).contains(code), i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"),
                    raw[i + 1] == UInt8(ascii: "u"), let low = hex4(i + 2), (0xDC00..<0xE000).contains(low)
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                flush()
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            default:
                return nil
            }
        }
        flush()
        return String(scalars)
    }

    // MARK: - Bytes

    func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            zip(expected, self.bytes[self.index..<self.index + count]).allSatisfy { $0 == $1 }
        }
        if matches { self.index += count }
        return matches
    }

    private mutating func skipDigits() -> Int {
        let start = self.index
        while self.index < self.bytes.count, self.bytes[self.index] >= UInt8(ascii: "0"),
            self.bytes[self.index] <= UInt8(ascii: "9")
        {
            self.index += 1
        }
        return self.index - start
    }

    private mutating func skipWhitespace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): self.index += 1
            default: return
            }
        }
    }
}
