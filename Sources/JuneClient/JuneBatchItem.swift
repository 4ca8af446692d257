import JuneTransform
import NIOCore

/// One event of a batch for June's `/sdk/batch` endpoint: the transformed request and the event's
/// stable message id. In the batch body the item is the request's JSON body with `"type"` and
/// `"messageId"` inserted as its first members: `{"userId":"u1",...}` becomes
/// `{"type":"track","messageId":"m1","userId":"u1",...}`.
public struct JuneBatchItem: Sendable {
    public var request: JuneRequest
    public var messageID: String

    public init(request: JuneRequest, messageID: String) {
        self.request = request
        self.messageID = messageID
    }

    /// Exact number of bytes this item adds to a batch body (its JSON object, without the separating comma).
    public var encodedSize: Int {
        Self.typePrefix.utf8CodeUnitCount + self.request.type.rawValue.utf8.count
            + Self.messageIDPrefix.utf8CodeUnitCount
            + self.quotedMessageIDSize + (self.bodyIsEmptyObject ? 1 : self.request.body.count)
    }

    private static let typePrefix: StaticString = #"{"type":""#
    private static let messageIDPrefix: StaticString = #"","messageId":"#

    /// The item's bytes, appended to `buffer`.
    func write(to buffer: inout ByteBuffer) {
        buffer.writeStaticString(Self.typePrefix)
        buffer.writeString(self.request.type.rawValue)
        buffer.writeStaticString(Self.messageIDPrefix)
        if Self.needsEscaping(self.messageID) {
            var quoted: [UInt8] = []
            JSONText.appendQuoted(self.messageID, to: &quoted)
            buffer.writeBytes(quoted)
        } else {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(self.messageID)
            buffer.writeInteger(UInt8(ascii: "\""))
        }
        if self.bodyIsEmptyObject {
            buffer.writeInteger(UInt8(ascii: "}"))
        } else {
            // `,` then the body's members and closing brace: the body without its opening `{`.
            buffer.writeInteger(UInt8(ascii: ","))
            buffer.writeBytes(self.request.body.dropFirst())
        }
    }

    /// The message id as a JSON string literal: its bytes plus two quotes, unless something must be escaped.
    private var quotedMessageIDSize: Int {
        guard Self.needsEscaping(self.messageID) else { return self.messageID.utf8.count + 2 }
        var quoted: [UInt8] = []
        JSONText.appendQuoted(self.messageID, to: &quoted)
        return quoted.count
    }

    /// Whether the body is `{}` (blanks allowed inside): then no comma follows the message id.
    private var bodyIsEmptyObject: Bool {
        let body = self.request.body
        var index = 1
        while index < body.count,
            body[index] == 0x20 || body[index] == 0x09 || body[index] == 0x0A || body[index] == 0x0D
        {
            index += 1
        }
        return index < body.count && body[index] == UInt8(ascii: "}")
    }

    /// `"`, `\` and control characters need escaping in a JSON string (the rules of `JSONText.appendQuoted`).
    private static func needsEscaping(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
    }
}

/// The envelope of a `/sdk/batch` body: `{"batch":[item,…],"sentAt":"2026-12-01T16:10:41.123Z"}`.
public enum JuneBatchBody {
    private static let head: StaticString = #"{"batch":["#
    private static let sentAtKey: StaticString = #"],"sentAt":""#
    private static let tail: StaticString = #""}"#
    /// Length of `2026-12-01T16:10:41.123Z`.
    static let timestampSize = 24

    /// bytes of the envelope without items: {"batch":[],"sentAt":"2026-12-01T16:10:41.123Z"}
    public static let envelopeSize: Int =
        Self.head.utf8CodeUnitCount + Self.sentAtKey.utf8CodeUnitCount + Self.timestampSize
        + Self.tail.utf8CodeUnitCount

    /// Body length of a batch of `items`: the envelope, the items and the commas between them.
    static func size(of items: [JuneBatchItem]) -> Int {
        var size = Self.envelopeSize + max(items.count - 1, 0)
        for item in items {
            size += item.encodedSize
        }
        return size
    }

    /// Appends the whole body to `buffer`; `millisecondsSince1970` becomes `sentAt`.
    static func write(_ items: [JuneBatchItem], sentAt millisecondsSince1970: Int64, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(Self.head)
        for (index, item) in items.enumerated() {
            if index > 0 {
                buffer.writeInteger(UInt8(ascii: ","))
            }
            item.write(to: &buffer)
        }
        buffer.writeStaticString(Self.sentAtKey)
        Self.writeTimestamp(millisecondsSince1970, to: &buffer)
        buffer.writeStaticString(Self.tail)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, without a formatter (civil date from days since 1970-01-01).
    static func writeTimestamp(_ millisecondsSince1970: Int64, to buffer: inout ByteBuffer) {
        let clamped = max(millisecondsSince1970, 0)
        let milliseconds = Int(clamped % 1000)
        let totalSeconds = Int(clamped / 1000)
        let days = totalSeconds / 86_400
        let secondOfDay = totalSeconds % 86_400
        // Howard Hinnant's days_from_civil inverse.
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        Self.writeDigits(year, count: 4, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "-"))
        Self.writeDigits(month, count: 2, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "-"))
        Self.writeDigits(day, count: 2, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "T"))
        Self.writeDigits(secondOfDay / 3600, count: 2, to: &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        Self.writeDigits(secondOfDay / 60 % 60, count: 2, to: &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        Self.writeDigits(secondOfDay % 60, count: 2, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "."))
        Self.writeDigits(milliseconds, count: 3, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "Z"))
    }

    private static func writeDigits(_ value: Int, count: Int, to buffer: inout ByteBuffer) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = min(max(value, 0), divisor * 10 - 1)
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
