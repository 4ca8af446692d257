/// One complete (aggregated) HTTP/1.1 request as seen by a `MiniHTTPServer` handler.
public struct MiniHTTPRequest: Sendable {
    /// Upper-case method name: `GET`, `POST`, …
    public var method: String
    /// The path without the query string, e.g. `/api/track`.
    public var path: String
    /// The raw query string after `?` (not decoded), or `nil` when there is none.
    public var query: String?
    public var headers: MiniHTTPHeaders
    public var body: [UInt8]

    public init(method: String, path: String, query: String? = nil, headers: MiniHTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Splits a request target (`/path?query`) into path and query.
    public init(method: String, uri: String, headers: MiniHTTPHeaders = [:], body: [UInt8] = []) {
        if let questionMark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            let path = String(uri[..<questionMark])
            let query = String(uri[uri.index(after: questionMark)...])
            self.init(method: method, path: path, query: query, headers: headers, body: body)
        } else {
            self.init(method: method, path: uri, query: nil, headers: headers, body: body)
        }
    }

    /// The first value of query parameter `name` (percent-decoding and `+` → space applied), if present.
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.percentDecode(parts[0]) == name else { continue }
            return parts.count > 1 ? Self.percentDecode(parts[1]) : ""
        }
        return nil
    }

    static func percentDecode(_ text: Substring) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            let byte = input[i]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), i + 2 < input.count,
                let high = hexValue(input[i + 1]), let low = hexValue(input[i + 2])
            {
                bytes.append(high << 4 | low)
                i += 2
            } else {
                bytes.append(byte)
            }
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
