import Foundation

/// Settings for `JuneHTTPClient`.
public struct JuneClientConfiguration: Sendable {
    /// The `User-Agent` sent when none is configured.
    public static let defaultUserAgent = "june-relay/0.1.0"

    /// June's API base URL; requests go to `<baseURL>/api/<type>`. Must be `http` or `https` with a host;
    /// a trailing `/` is ignored. Default: `https://api.june.so`.
    public var baseURL: String
    /// The June write key, sent raw as `Authorization: Basic <writeKey>` (as RudderStack does).
    /// Never logged and never part of `description`. No default.
    public var writeKey: String
    /// Deadline for one request, from sending to the end of the response. Default: 10 s.
    public var requestTimeout: Duration
    /// Keep-alive connections per host in the pool. Default: 256.
    public var maxConnections: Int
    /// The `User-Agent` header. Default: `june-relay/<version>`.
    public var userAgent: String
    /// Allow a plain `http://` base URL to a non-loopback host. Default: false.
    public var allowInsecureHTTP = false
    /// A PEM file of extra trusted root certificates. Default: none.
    public var caFile: String?

    public init(
        baseURL: String = "https://api.june.so",
        writeKey: String,
        requestTimeout: Duration = .seconds(10),
        maxConnections: Int = 256,
        userAgent: String = JuneClientConfiguration.defaultUserAgent
    ) {
        self.baseURL = baseURL
        self.writeKey = writeKey
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.userAgent = userAgent
    }

    /// Checks every setting; call at startup so a bad `--june-url` fails fast with a clear message.
    public func validate() throws(JuneClientError) {
        _ = try self.normalizedBaseURL()
        if self.writeKey.isEmpty {
            throw .invalidWriteKey("it is empty")
        }
        if Self.containsControlCharacters(self.writeKey) {
            throw .invalidWriteKey("it contains control characters")
        }
        if self.requestTimeout <= .zero {
            throw .invalidSetting("requestTimeout", "must be positive")
        }
        if self.maxConnections < 1 {
            throw .invalidSetting("maxConnections", "must be at least 1")
        }
        if Self.containsControlCharacters(self.userAgent) {
            throw .invalidSetting("userAgent", "contains control characters")
        }
    }

    /// `baseURL` checked and without trailing slashes, ready to have `/api/<type>` appended.
    func normalizedBaseURL() throws(JuneClientError) -> String {
        let trimmed = self.baseURL.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw .invalidBaseURL(self.baseURL, "it is empty") }
        guard let components = URLComponents(string: trimmed) else {
            throw .invalidBaseURL(self.baseURL, "it is not a URL")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .invalidBaseURL(self.baseURL, "the scheme must be http or https")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidBaseURL(self.baseURL, "it has no host")
        }
        guard components.query == nil, components.fragment == nil else {
            throw .invalidBaseURL(self.baseURL, "it must not have a query or fragment")
        }
        var normalized = trimmed
        while normalized.hasSuffix("/") {
            normalized.removeLast()
        }
        return normalized
    }

    private static func containsControlCharacters(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }
}

// MARK: - JuneClientConfiguration + CustomStringConvertible

extension JuneClientConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Every setting except the write key, which is shown as `<redacted>`.
    public var description: String {
        "JuneClientConfiguration(baseURL: \(self.baseURL), writeKey: <redacted>, requestTimeout: \(self.requestTimeout), "
            + "maxConnections: \(self.maxConnections), userAgent: \(self.userAgent))"
    }

    public var debugDescription: String { self.description }

    /// Keeps the write key out of `dump()` and debugger summaries.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "baseURL": self.baseURL,
                "writeKey": "<redacted>",
                "requestTimeout": self.requestTimeout,
                "maxConnections": self.maxConnections,
                "userAgent": self.userAgent,
            ]
        )
    }
}
