import JuneClient
import Testing

/// Reading the proxy from the environment as curl does, and the `NO_PROXY` matcher.
@Suite struct JuneProxyTests {
    @Test func parsesProxyURLs() throws {
        #expect(try JuneProxy(url: "http://proxy.internal:3128") == JuneProxy(host: "proxy.internal", port: 3128))
        #expect(try JuneProxy(url: "proxy.internal:8080/") == JuneProxy(host: "proxy.internal", port: 8080))
        #expect(
            try JuneProxy(url: "http://proxy.internal") == JuneProxy(host: "proxy.internal", port: 1080),
            "curl's default port")
        #expect(try JuneProxy(url: "http://[::1]:3128") == JuneProxy(host: "::1", port: 3128))
        let withCredentials = try JuneProxy(url: "http://al%40ice:p%3Ass%20w@127.0.0.1:3128")
        #expect(withCredentials == JuneProxy(host: "127.0.0.1", port: 3128, username: "al@ice", password: "p:ss w"))
        #expect(try JuneProxy(url: "http://bob@host:1").password == nil)
    }

    @Test(arguments: [
        "https://proxy:443", "socks5://proxy:1080", "http://", "http://host:99999", "http://host:3128/path",
    ])
    func refusesProxiesItCannotUse(url: String) {
        #expect {
            _ = try JuneProxy(url: url)
        } throws: { error in
            (error as? JuneClientError)?.isInvalidProxy == true
        }
    }

    @Test func errorsNeverShowTheCredentials() {
        do {
            _ = try JuneProxy(url: "https://user:hunter2@proxy:443")
            Issue.record("accepted")
        } catch {
            #expect(!error.reason.contains("hunter2"), "\(error)")
            #expect(error.reason.contains("proxy:443"), "\(error)")
        }
    }

    @Test func httpsURLsUseHTTPSProxyVariables() throws {
        let url = "https://api.june.so"
        #expect(try JuneProxy.fromEnvironment([:], for: url) == nil)
        #expect(try JuneProxy.fromEnvironment(["HTTPS_PROXY": "http://upper:1"], for: url)?.host == "upper")
        #expect(
            try JuneProxy.fromEnvironment(
                ["https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:1"], for: url)?.host == "lower")
        #expect(
            try JuneProxy.fromEnvironment(["https_proxy": "", "HTTPS_PROXY": "http://upper:1"], for: url)?.host
                == "upper")
        #expect(
            try JuneProxy.fromEnvironment(["HTTP_PROXY": "http://plain:1", "http_proxy": "http://plain:1"], for: url)
                == nil)
    }

    @Test func httpURLsUseHTTPProxyVariables() throws {
        let url = "http://127.0.0.1:8080"
        #expect(try JuneProxy.fromEnvironment(["HTTPS_PROXY": "http://secure:1"], for: url) == nil)
        #expect(try JuneProxy.fromEnvironment(["HTTP_PROXY": "http://upper:1"], for: url)?.host == "upper")
        #expect(
            try JuneProxy.fromEnvironment(["http_proxy": "http://lower:1", "HTTP_PROXY": "http://upper:1"], for: url)?
                .host == "lower")
    }

    @Test func noProxyBypassesTheProxy() throws {
        let proxy = ["HTTPS_PROXY": "http://proxy:3128"]
        #expect(
            try JuneProxy.fromEnvironment(proxy.merging(["NO_PROXY": "june.so"]) { $1 }, for: "https://api.june.so")
                == nil)
        #expect(
            try JuneProxy.fromEnvironment(proxy.merging(["no_proxy": "*"]) { $1 }, for: "https://api.june.so") == nil)
        #expect(
            try JuneProxy.fromEnvironment(proxy.merging(["NO_PROXY": "example.com"]) { $1 }, for: "https://api.june.so")
                != nil)
        #expect(
            try JuneProxy.fromEnvironment(proxy, for: "https://localhost:8443")?.host == "proxy",
            "loopback is not exempt unless listed"
        )
        #expect(
            try JuneProxy.fromEnvironment(
                proxy.merging(["NO_PROXY": "localhost,127.0.0.1"]) { $1 }, for: "https://localhost:8443") == nil)
    }

    @Test func noProxyMatchesHostsAndDomainSuffixes() {
        let list = NoProxyList(" example.com, .internal.corp ,10.1.2.3,[::1], LOCALHOST")
        #expect(list.matches(host: "example.com"))
        #expect(list.matches(host: "api.example.com"))
        #expect(list.matches(host: "API.Example.COM."))
        #expect(!list.matches(host: "badexample.com"))
        #expect(!list.matches(host: "example.com.evil.net"))
        #expect(list.matches(host: "internal.corp"))
        #expect(list.matches(host: "june.internal.corp"))
        #expect(list.matches(host: "10.1.2.3"))
        #expect(!list.matches(host: "10.1.2.30"))
        #expect(list.matches(host: "::1"))
        #expect(list.matches(host: "[::1]"))
        #expect(list.matches(host: "localhost"))
        #expect(!list.matches(host: "127.0.0.1"))
    }

    @Test func starMatchesEverythingAndEmptyMatchesNothing() {
        #expect(NoProxyList("*").matches(host: "api.june.so"))
        #expect(NoProxyList("foo, *").matches(host: "anything"))
        #expect(!NoProxyList("").matches(host: "api.june.so"))
        #expect(!NoProxyList(" , ,").matches(host: "api.june.so"))
    }
}
