import Foundation

/// An HTTP proxy that June requests go through: each connection opens a `CONNECT` tunnel on the proxy
/// and speaks to June inside it (TLS to June for `https` URLs, so the proxy sees only the host name).
///
/// Read from the environment as curl does (`fromEnvironment`); the credentials of
/// `http://user:password@proxy:port` are sent as `Proxy-Authorization: Basic` and never logged.
public struct JuneProxy: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The proxy's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The proxy's port. Default 1080, as curl.
    public var port: Int
    /// The user name from the proxy URL, percent-decoded.
    public var username: String?
    /// The password from the proxy URL, percent-decoded.
    public var password: String?

    public init(host: String, port: Int = 1080, username: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
    }

    /// Parses a proxy URL: `[http://][user[:password]@]host[:port][/]`. Only `http` proxies are supported
    /// (the tunnel to June is encrypted end to end anyway).
    public init(url: String) throws(JuneClientError) {
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        let withScheme = trimmed.contains("://") ? trimmed : "http://" + trimmed
        guard let components = URLComponents(string: withScheme) else {
            throw .invalidProxy(Self.redacted(url), "it is not a URL")
        }
        guard components.scheme?.lowercased() == "http" else {
            throw .invalidProxy(Self.redacted(url), "only http:// proxies are supported")
        }
        guard var host = components.host, !host.isEmpty else {
            throw .invalidProxy(Self.redacted(url), "it has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        let port = components.port ?? 1080
        guard (1...65_535).contains(port) else {
            throw .invalidProxy(Self.redacted(url), "the port is out of range")
        }
        guard components.path.isEmpty || components.path == "/", components.query == nil, components.fragment == nil
        else {
            throw .invalidProxy(Self.redacted(url), "it must not have a path, query or fragment")
        }
        self.init(
            host: host,
            port: port,
            username: components.percentEncodedUser.map { $0.removingPercentEncoding ?? $0 },
            password: components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        )
    }

    /// The proxy curl would use for `baseURL` given `environment`, or nil for a direct connection.
    ///
    /// `https` URLs use `https_proxy`, else `HTTPS_PROXY`; `http` URLs use `http_proxy`, else `HTTP_PROXY`.
    /// Empty values count as unset. `no_proxy` (else `NO_PROXY`) lists hosts that are reached directly
    /// (see `NoProxyList`); loopback hosts are not exempt unless listed.
    public static func fromEnvironment(_ environment: [String: String], for baseURL: String) throws(JuneClientError)
        -> JuneProxy?
    {
        guard let components = URLComponents(string: baseURL.trimmingCharacters(in: .whitespaces)),
            let scheme = components.scheme?.lowercased(),
            let host = components.host
        else {
            throw .invalidBaseURL(baseURL, "it is not a URL")
        }
        let names = scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
        guard let value = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else {
            return nil
        }
        let noProxy = ["no_proxy", "NO_PROXY"].lazy.compactMap { environment[$0] }.first(where: { !$0.isEmpty })
        if let noProxy, NoProxyList(noProxy).matches(host: host) {
            return nil
        }
        return try JuneProxy(url: value)
    }

    /// `base64(user:password)` for `Proxy-Authorization: Basic`, when the URL had a user name.
    var basicCredentials: String? {
        guard let username = self.username else { return nil }
        return Data("\(username):\(self.password ?? "")".utf8).base64EncodedString()
    }

    /// `host:port`, and whether credentials are set — never the credentials themselves.
    public var description: String {
        let hostPort = self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
        return self.username == nil ? hostPort : "\(hostPort) (with credentials)"
    }

    /// Keeps the password out of `dump()` and debugger summaries.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": self.host, "port": self.port, "username": self.username ?? "none", "password": "<redacted>",
            ])
    }

    /// A proxy URL for error messages: the part before `@` (credentials) is dropped.
    private static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        let schemeEnd = url.range(of: "://")?.upperBound ?? url.startIndex
        return String(url[..<schemeEnd]) + "<credentials>@" + String(url[url.index(after: at)...])
    }
}

/// The hosts `NO_PROXY` exempts from the proxy, as curl reads it: a comma-separated list of host names,
/// domain suffixes and IP addresses, compared without case. `example.com` (or `.example.com`) matches
/// `example.com` and every name under it (`api.example.com`), not `badexample.com`. A lone `*` matches
/// every host.
public struct NoProxyList: Sendable, Equatable {
    private let matchesEverything: Bool
    private let entries: [String]

    public init(_ value: String) {
        var entries: [String] = []
        var everything = false
        for raw in value.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" {
                everything = true
                continue
            }
            if entry.hasPrefix("[") && entry.hasSuffix("]") {
                entry = String(entry.dropFirst().dropLast())
            }
            while entry.hasPrefix(".") { entry.removeFirst() }
            while entry.hasSuffix(".") { entry.removeLast() }
            if !entry.isEmpty {
                entries.append(entry)
            }
        }
        self.matchesEverything = everything
        self.entries = entries
    }

    /// Whether requests to `host` bypass the proxy.
    public func matches(host rawHost: String) -> Bool {
        if self.matchesEverything { return true }
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        while host.hasSuffix(".") { host.removeLast() }
        return self.entries.contains { entry in
            host == entry || host.hasSuffix("." + entry)
        }
    }
}
