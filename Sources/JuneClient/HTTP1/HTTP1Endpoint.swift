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

    /// `host:port` (IPv6 bracketed), the target of a proxy `CONNECT`.
    var authority: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    /// Whether `host` is a loopback address: `localhost`, 127.0.0.0/8 or `::1`.
    var isLoopback: Bool {
        Self.isLoopback(host: self.host)
    }

    static func isLoopback(host rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        if host == "localhost" || host == "localhost." || host == "::1" || host == "0:0:0:0:0:0:0:1" {
            return true
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) }) else {
            return false
        }
        let octets = parts.compactMap { UInt8($0) }
        return octets.count == 4 && octets[0] == 127
    }

    /// Whether `host` is an IP literal (no SNI for those).
    var hostIsIPAddress: Bool {
        if self.host.contains(":") { return true }
        return self.host.split(separator: ".", omittingEmptySubsequences: false).count == 4
            && self.host.allSatisfy { $0.isNumber || $0 == "." }
    }
}
