import Foundation
import JuneTransform
import NIOSSL

/// Settings for `JuneHTTPClient`.
public struct JuneClientConfiguration: Sendable {
    /// The `User-Agent` sent when none is configured.
    public static let defaultUserAgent = "june-relay/0.1.0"

    /// June's API base URL; requests go to `<baseURL>/api/<type>` (batches to `<baseURL>/sdk/batch`).
    /// Must be `https`, or `http` to a loopback host (or with `allowInsecureHTTP`); a trailing `/` is
    /// ignored. Default: `https://api.june.so`.
    public var baseURL: String
    /// The June write key, sent raw as `Authorization: Basic <writeKey>` (as RudderStack does).
    /// Never logged and never part of `description`. No default.
    public var writeKey: String
    /// Deadline for one request, covering the whole exchange: waiting for a pooled connection,
    /// connecting, the TLS handshake, writing and reading. Default: 10 s.
    public var requestTimeout: Duration
    /// Keep-alive connections per host in the pool. Default: 256.
    public var maxConnections: Int
    /// The `User-Agent` header. Default: `june-relay/<version>`.
    public var userAgent: String
    /// Allows a plain `http://` base URL to a host that is not loopback (`--allow-insecure-http`): the
    /// write key then travels in clear text. Default: false.
    public var allowInsecureHTTP: Bool
    /// A PEM bundle of certificate authorities trusted in addition to the system trust store
    /// (`--june-ca-file`): a private CA, or a TLS-inspecting proxy's. Default: none.
    public var caFile: String?
    /// The HTTP proxy June connections are tunnelled through (`CONNECT`); usually
    /// `JuneProxy.fromEnvironment(_:for:)`. Default: none (direct connections).
    public var proxy: JuneProxy?

    public init(
        baseURL: String = JuneAPI.defaultBaseURL,
        writeKey: String,
        requestTimeout: Duration = .seconds(10),
        maxConnections: Int = 256,
        userAgent: String = JuneClientConfiguration.defaultUserAgent,
        allowInsecureHTTP: Bool = false,
        caFile: String? = nil,
        proxy: JuneProxy? = nil
    ) {
        self.baseURL = baseURL
        self.writeKey = writeKey
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.userAgent = userAgent
        self.allowInsecureHTTP = allowInsecureHTTP
        self.caFile = caFile
        self.proxy = proxy
    }

    /// Checks every setting (and reads `caFile`); call at startup so a bad `--june-url` fails fast with
    /// a clear message.
    public func validate() throws(JuneClientError) {
        let url = try self.normalizedBaseURL()
        let endpoint = try HTTP1Endpoint(normalizedBaseURL: url)
        if !endpoint.usesTLS, !endpoint.isLoopback, !self.allowInsecureHTTP {
            throw .invalidBaseURL(
                self.baseURL,
                "plain http:// to a host that is not loopback would send the write key in clear text; "
                    + "use https://, or pass --allow-insecure-http to accept that"
            )
        }
        try Self.validate(writeKey: self.writeKey)
        if self.requestTimeout <= .zero {
            throw .invalidSetting("requestTimeout", "must be positive")
        }
        if self.maxConnections < 1 {
            throw .invalidSetting("maxConnections", "must be at least 1")
        }
        if Self.containsControlCharacters(self.userAgent) {
            throw .invalidSetting("userAgent", "contains control characters")
        }
        _ = try self.trustedCertificates()
        if let proxy = self.proxy {
            if proxy.host.isEmpty || !(1...65_535).contains(proxy.port) {
                throw .invalidProxy(proxy.description, "the host is empty or the port is out of range")
            }
            if [proxy.host, proxy.username ?? "", proxy.password ?? ""].contains(where: Self.containsControlCharacters) {
                throw .invalidProxy(proxy.description, "it contains control characters")
            }
        }
    }

    /// A write key must be non-empty and fit in a header line.
    static func validate(writeKey: String) throws(JuneClientError) {
        if writeKey.isEmpty {
            throw .invalidWriteKey("it is empty")
        }
        if Self.containsControlCharacters(writeKey) {
            throw .invalidWriteKey("it contains control characters")
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

    /// The certificates of `caFile`, read and parsed (nil without one). Errors say what is wrong with the file.
    func trustedCertificates() throws(JuneClientError) -> [NIOSSLCertificate]? {
        guard let path = self.caFile else { return nil }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .invalidCAFile(path, "the file does not exist or cannot be read")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .invalidCAFile(path, "it is not a PEM certificate bundle (\(error))")
        }
        guard !certificates.isEmpty else {
            throw .invalidCAFile(path, "it holds no PEM certificate")
        }
        return certificates
    }

    /// The TLS settings for June connections: `base` (default: the system trust store, certificate and
    /// host name checked) with `caFile`'s certificates added to the trusted roots and TLS 1.2 or newer.
    func tlsConfiguration(base: TLSConfiguration?) throws(JuneClientError) -> TLSConfiguration {
        var tls = base ?? .makeClientConfiguration()
        switch tls.minimumTLSVersion {
        case .tlsv1, .tlsv11: tls.minimumTLSVersion = .tlsv12
        case .tlsv12, .tlsv13: break
        }
        if let certificates = try self.trustedCertificates() {
            tls.additionalTrustRoots.append(.certificates(certificates))
        }
        return tls
    }

    private static func containsControlCharacters(_ text: String) -> Bool {
        text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }
}

// MARK: - JuneClientConfiguration + CustomStringConvertible

extension JuneClientConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Every setting except the write key, which is shown as `<redacted>`, and proxy credentials.
    public var description: String {
        "JuneClientConfiguration(baseURL: \(self.baseURL), writeKey: <redacted>, requestTimeout: \(self.requestTimeout), "
            + "maxConnections: \(self.maxConnections), userAgent: \(self.userAgent), "
            + "allowInsecureHTTP: \(self.allowInsecureHTTP), caFile: \(self.caFile ?? "none"), "
            + "proxy: \(self.proxy?.description ?? "none"))"
    }

    public var debugDescription: String { self.description }

    /// Keeps the write key and proxy credentials out of `dump()` and debugger summaries.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "baseURL": self.baseURL,
                "writeKey": "<redacted>",
                "requestTimeout": self.requestTimeout,
                "maxConnections": self.maxConnections,
                "userAgent": self.userAgent,
                "allowInsecureHTTP": self.allowInsecureHTTP,
                "caFile": self.caFile ?? "none",
                "proxy": self.proxy?.description ?? "none",
            ]
        )
    }
}
