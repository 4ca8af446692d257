import Foundation
import NIOCore

/// Turns an HTTP status (or a transport error) into a `SendOutcome`. Kept apart from backoff (`RetryPolicy`).
///
/// 2xx → delivered. 408, 429, 5xx, connection errors and timeouts → retryable. 401, 403, 404, 405, 407,
/// 410 and every 3xx → refused (the relay's key, URL or proxy is wrong, not the event). Any other status
/// (400, 413, 422, …) → rejected.
public enum ResponseClassifier {
    /// How many bytes of a response body go into an outcome message.
    public static let messageBodyLimit = 200
    /// `Retry-After` values above this are clamped to it.
    public static let maxRetryAfter: Duration = .seconds(24 * 60 * 60)

    /// Classifies a received response.
    /// - Parameters:
    ///   - status: the HTTP status code.
    ///   - retryAfter: the raw `Retry-After` header value, if any (seconds or HTTP-date); used for retryable statuses.
    ///   - bodyPrefix: the start of the response body (only the first `messageBodyLimit` bytes are used).
    ///   - now: the current wall-clock time, for HTTP-date `Retry-After` values.
    public static func classify(status: Int, retryAfter: String?, bodyPrefix: [UInt8], now: Date = Date())
        -> SendOutcome
    {
        if (200..<300).contains(status) {
            return .delivered(status: status)
        }
        let message = Self.message(status: status, bodyPrefix: bodyPrefix)
        if Self.isRetryable(status: status) {
            let wait = retryAfter.flatMap { Self.parseRetryAfter($0, now: now) }
            return .retryable(status: status, retryAfter: wait, message: message)
        }
        if Self.isRefusal(status: status) {
            return .refused(status: status, message: message)
        }
        return .rejected(status: status, message: message)
    }

    /// Classifies a failure to get a response: every transport error (refused, reset, TLS, timeout) is retryable.
    public static func classify(error: any Error) -> SendOutcome {
        let message: String
        switch error {
        case is CancellationError:
            message = "request cancelled"
        case HTTP1TransportError.timeout:
            message = "\(HTTP1TransportError.timeout)"
        case ChannelError.connectTimeout(let limit):
            message = "connect timeout after \(limit)"
        default:
            message = "connection error: \(error)"
        }
        return .retryable(status: nil, retryAfter: nil, message: message)
    }

    /// 408 Request Timeout, 429 Too Many Requests and every 5xx.
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500..<600).contains(status)
    }

    /// Statuses that say the relay itself is refused: 401 Unauthorized, 403 Forbidden, 404 Not Found,
    /// 405 Method Not Allowed, 407 Proxy Authentication Required, 410 Gone (a retired endpoint) and every
    /// 3xx (a redirect is never followed: the write key must not be sent to another place).
    public static func isRefusal(status: Int) -> Bool {
        switch status {
        case 300..<400, 401, 403, 404, 405, 407, 410: true
        default: false
        }
    }

    /// `"HTTP 503: <first 200 bytes of body>"`, or `"HTTP 503"` when the body is empty. Always one line
    /// (it ends up in logs and dead-letter headers): trailing whitespace is dropped and control
    /// characters are escaped (`\n`, `\r`, `\t`, else `\u00XX`).
    public static func message(status: Int, bodyPrefix: [UInt8]) -> String {
        var body = bodyPrefix.prefix(Self.messageBodyLimit)
        while let last = body.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D {
            body.removeLast()
        }
        guard !body.isEmpty else { return "HTTP \(status)" }
        var line: [UInt8] = Array("HTTP \(status): ".utf8)
        line.reserveCapacity(line.count + body.count + 8)
        for byte in body {
            switch byte {
            case 0x0A: line.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: line.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: line.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                let digits = Array("0123456789abcdef".utf8)
                line.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                line.append(contentsOf: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
            default: line.append(byte)
            }
        }
        return String(decoding: line, as: UTF8.self)
    }

    /// Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date
    /// (`"Sun, 06 Nov 1994 08:49:37 GMT"`, also the obsolete RFC 850 and asctime forms).
    /// A date in the past gives `.zero`. Unparseable or negative → nil. Clamped to `maxRetryAfter`.
    public static func parseRetryAfter(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // Digits only: delay-seconds. Long digit strings are clamped rather than overflowing.
            guard trimmed.utf8.count <= 9, let seconds = Int(trimmed) else { return Self.maxRetryAfter }
            return min(.seconds(seconds), Self.maxRetryAfter)
        }
        guard let date = Self.parseHTTPDate(trimmed) else { return nil }
        let interval = date.timeIntervalSince(now)
        guard interval > 0 else { return .zero }
        return min(.milliseconds(Int64((min(interval, 86_400 * 2) * 1000).rounded(.up))), Self.maxRetryAfter)
    }

    static func parseHTTPDate(_ text: String) -> Date? {
        // Rare path (only when a server sends a date): a formatter per call keeps this free of shared state.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        let collapsed = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: collapsed) {
                return date
            }
        }
        return nil
    }
}
