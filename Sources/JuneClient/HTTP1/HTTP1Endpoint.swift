import Foundation

/// Where requests go, parsed once from the June base URL: scheme, host, port, the `Host` header and the
/// path prefix every request target starts with.
struct HTTP1Endpoint: Sendable, Equatable {
    /// `true` for `https`.
    var usesTLS: Bool
    /// The host to connect to (no brackets around IPv6 literals).
    var host: String
    var port: Int
    /// The `Host` header value: `host`, bracketed when IPv6, with `:port` when not the scheme's default.
    var hostHeader: String
    /// The base URL's path without trailing slashes (`""` for none); targets are `pathPrefix + "/api/<type>"`.
    var pathPrefix: String

    /// Parses a base URL already checked by `JuneClientConfiguration.normalizedBaseURL()`.
    init(normalizedBaseURL: String) throws(JuneClientError) {
        guard let components = URLComponents(string: normalizedBaseURL),
            let scheme = components.scheme?.lowercased(),
            var host = components.host, !host.isEmpty
        else {
            throw .invalidBaseURL(normalizedBaseURL, "it is not a URL")
        }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        self.usesTLS = scheme == "https"
        let defaultPort = self.usesTLS ? 443 : 80
        self.host = host
        self.port = components.port ?? defaultPort
        guard (1...65_535).contains(self.port) else {
            throw .invalidBaseURL(normalizedBaseURL, "the port is out of range")
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = self.port == defaultPort ? bracketed : "\(bracketed):\(self.port)"
        var path = components.percentEncodedPath
        while path.hasSuffix("/") {
            path.removeLast()
        }
        self.pathPrefix = path
    }

    /// Whether `host` is an IP literal (no SNI for those).
    var hostIsIPAddress: Bool {
        if self.host.contains(":") { return true }
        return self.host.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && self.host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
