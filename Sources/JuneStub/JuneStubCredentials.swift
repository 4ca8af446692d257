import Foundation

/// The write key in an `Authorization` header, in the two forms June accepts.
enum JuneStubCredentials {
    /// RudderStack's form on `/api/*`: `Basic <key>`, the raw key. Nil when the header is missing, not
    /// Basic, or the key is empty.
    static func rawKey(_ authorization: String?) -> String? {
        guard let token = self.basicToken(authorization) else { return nil }
        return String(token)
    }

    /// June's SDK form on `/sdk/batch`: `Basic <base64 of "<key>:<password>">` (RFC 7617; June's SDKs
    /// send an empty password). Nil when the header is missing, not Basic, not base64, has no `:`, or
    /// the key is empty — so a raw key sent here is refused, as June would.
    static func batchKey(_ authorization: String?) -> String? {
        guard let token = self.basicToken(authorization), let decoded = Data(base64Encoded: String(token)) else {
            return nil
        }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        return String(text[..<colon])
    }

    /// The credentials after `Basic ` (scheme case-insensitive), trimmed; nil when absent or empty.
    private static func basicToken(_ authorization: String?) -> Substring? {
        guard let authorization, authorization.utf8.count > 6, authorization.prefix(6).lowercased() == "basic " else {
            return nil
        }
        var token = authorization.dropFirst(6)
        while let first = token.first, first.isWhitespace { token.removeFirst() }
        while let last = token.last, last.isWhitespace { token.removeLast() }
        return token.isEmpty ? nil : token
    }
}
