import Foundation
import RelayOperations
import Testing

@Suite struct ISO8601TimestampTests {
    /// 2026-11-26T12:00:00Z
    static let noonUTC: Int64 = 1_795_694_400_000

    static let accepted: [(String, Int64)] = [
        ("2026-11-26T12:00:00Z", noonUTC),
        ("2026-11-26T12:00:00.250Z", noonUTC + 250),
        ("2026-11-26T12:00:00.5Z", noonUTC + 500),
        ("2026-11-26T12:00:00.123456789Z", noonUTC + 123),
        ("2026-11-26T13:00:00+01:00", noonUTC),
        ("2026-11-26T13:30:00.100+0130", noonUTC + 100),
        ("2026-11-26T07:00:00-05:00", noonUTC),
        ("2026-11-26T14:00:00+02", noonUTC),
        ("2026-11-26T12:00:00", noonUTC),
        ("2026-11-26T12:00", noonUTC),
        ("2026-11-26 12:00:00z", noonUTC),
        ("2026-11-26", noonUTC - 12 * 3_600_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
    ]

    @Test(arguments: accepted)
    func acceptsISO8601Forms(text: String, expected: Int64) {
        #expect(ISO8601Timestamp.milliseconds(from: text) == expected)
    }

    static let rejected: [String] = [
        "", "yesterday", "2026-11-26T", "2026-13-01T00:00:00Z", "2026-02-30", "2025-02-29",
        "2026-11-26T24:00:00Z", "2026-11-26T12:60:00Z", "2026-11-26T12:00:00.Z", "2026-11-26T12:00:00+1",
        "2026-11-26T12:00:00Zjunk", "26-11-2026", "1795694400000",
    ]

    @Test(arguments: rejected)
    func rejectsOtherText(text: String) {
        #expect(ISO8601Timestamp.milliseconds(from: text) == nil)
    }

    @Test func agreesWithFoundation() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for text in ["2001-09-09T01:46:40.000Z", "2038-01-19T03:14:07.999Z", "1999-12-31T23:59:59.001+05:30"] {
            let date = try #require(formatter.date(from: text))
            #expect(ISO8601Timestamp.milliseconds(from: text) == Int64((date.timeIntervalSince1970 * 1_000).rounded()))
        }
    }
}
