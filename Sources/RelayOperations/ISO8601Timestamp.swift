/// Parses the ISO 8601 date-times `offsets reset --to-datetime` accepts, to milliseconds since the epoch.
///
/// Accepted: `YYYY-MM-DD`, optionally followed by `T` (or a space) and `hh:mm`, `hh:mm:ss` or
/// `hh:mm:ss.fff…` (any number of fraction digits; kept to the millisecond, truncated), optionally
/// followed by a zone: `Z`, `±hh:mm`, `±hhmm` or `±hh`. Without a zone the time is taken as UTC.
///
/// ```swift
/// ISO8601Timestamp.milliseconds(from: "2026-11-26T12:00:00Z")         // 1795694400000
/// ISO8601Timestamp.milliseconds(from: "2026-11-26T13:00:00.250+01:00") // 1795694400250
/// ```
public enum ISO8601Timestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z, or `nil` when `text` is not an accepted form or names
    /// an impossible date or time.
    public static func milliseconds(from text: String) -> Int64? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(exactly: 4), scanner.take(UInt8(ascii: "-")),
            let month = scanner.digits(exactly: 2), scanner.take(UInt8(ascii: "-")),
            let day = scanner.digits(exactly: 2)
        else { return nil }
        guard (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day) else { return nil }

        var hour = 0, minute = 0, second = 0, millisecond = 0
        var offsetMinutes = 0
        if !scanner.isAtEnd {
            guard scanner.take(UInt8(ascii: "T")) || scanner.take(UInt8(ascii: "t")) || scanner.take(UInt8(ascii: " ")),
                let h = scanner.digits(exactly: 2), scanner.take(UInt8(ascii: ":")), let m = scanner.digits(exactly: 2)
            else { return nil }
            hour = h
            minute = m
            if scanner.take(UInt8(ascii: ":")) {
                guard let s = scanner.digits(exactly: 2) else { return nil }
                second = s
                if scanner.take(UInt8(ascii: ".")) || scanner.take(UInt8(ascii: ",")) {
                    guard let fraction = scanner.fractionDigits() else { return nil }
                    millisecond = fraction
                }
            }
            guard hour < 24, minute < 60, second < 60 else { return nil }
            if scanner.take(UInt8(ascii: "Z")) || scanner.take(UInt8(ascii: "z")) {
                offsetMinutes = 0
            } else if let sign = scanner.takeSign() {
                guard let oh = scanner.digits(exactly: 2) else { return nil }
                var om = 0
                if scanner.take(UInt8(ascii: ":")) {
                    guard let value = scanner.digits(exactly: 2) else { return nil }
                    om = value
                } else if let value = scanner.digits(exactly: 2) {
                    om = value
                }
                guard oh < 24, om < 60 else { return nil }
                offsetMinutes = sign * (oh * 60 + om)
            }
        }
        guard scanner.isAtEnd else { return nil }

        let days = Int64(daysFromCivil(year: year, month: month, day: day))
        let seconds = days * 86_400 + Int64(hour * 3_600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1_000 + Int64(millisecond)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// A cursor over ASCII bytes.
private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// `+1` for `+`, `-1` for `-` (ASCII only), else `nil`.
    mutating func takeSign() -> Int? {
        if take(UInt8(ascii: "+")) { return 1 }
        if take(UInt8(ascii: "-")) { return -1 }
        return nil
    }

    mutating func digits(exactly count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<(index + count)] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += count
        return value
    }

    /// One or more digits; returns the first three as milliseconds (padded, the rest truncated).
    mutating func fractionDigits() -> Int? {
        var value = 0
        var count = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            if count < 3 { value = value * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
            count += 1
            index += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<max(count, 3) { value *= 10 }
        return value
    }
}
