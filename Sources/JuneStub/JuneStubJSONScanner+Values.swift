import JuneTransform

/// Reading the values the scanner found: strings, raw numbers, integers.
extension JuneStubJSONScanner {
    /// The decoded text of a string.
    func text(_ text: Text) -> String {
        if !text.escaped {
            let bytes = UnsafeBufferPointer(start: self.p + text.start, count: text.end - text.start)
            return String(decoding: bytes, as: UTF8.self)
        }
        // Rare: let JuneTransform's reader decode the (already validated) literal, quotes included.
        let literal = Array(UnsafeBufferPointer(start: self.p + text.start - 1, count: text.end - text.start + 2))
        return (try? JSONFieldReader.parse(literal))?.string ?? ""
    }

    /// Whether a string (usually a key) decodes to `name`.
    func text(_ text: Text, equals name: StaticString) -> Bool {
        if text.escaped {
            return self.text(text).utf8.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
        guard text.end - text.start == name.utf8CodeUnitCount else { return false }
        let w = name.utf8Start
        for k in 0..<name.utf8CodeUnitCount where self.p[text.start + k] != w[k] { return false }
        return true
    }

    /// The raw text of a number.
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: self.p + range.lowerBound, count: range.count), as: UTF8.self)
    }

    /// A number without fraction or exponent that fits in `Int`; nil otherwise.
    func integer(_ range: Range<Int>) -> Int? {
        var k = range.lowerBound
        let negative = self.p[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        var value = 0
        while k < range.upperBound {
            let digit = self.p[k] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) =
                negative ? shifted.subtractingReportingOverflow(Int(digit)) : shifted.addingReportingOverflow(Int(digit))
            guard !o1 && !o2 else { return nil }
            value = next
            k += 1
        }
        return value
    }
}
