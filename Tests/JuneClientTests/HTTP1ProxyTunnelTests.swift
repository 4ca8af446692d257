import Testing

@testable import JuneClient

/// The `CONNECT` request the client sends to a proxy, and how it reads the proxy's answer head.
@Suite struct HTTP1ProxyTunnelTests {
    @Test func connectRequestCarriesTheTargetAndDecodedCredentials() throws {
        let endpoint = try HTTP1Endpoint(normalizedBaseURL: "https://api.june.so")
        let proxy = try JuneProxy(url: "http://al%40ice:p%3Ass%20w@proxy.internal:3128")
        let request = String(
            decoding: HTTP1ProxyTunnelHandler.connectRequest(to: endpoint, proxy: proxy), as: UTF8.self)
        #expect(
            request
                == "CONNECT api.june.so:443 HTTP/1.1\r\nHost: api.june.so:443\r\n"
                + "Proxy-Authorization: Basic YWxAaWNlOnA6c3Mgdw==\r\n\r\n"  // base64("al@ice:p:ss w")
        )
    }

    @Test func connectRequestWithoutCredentialsAndWithAnIPv6Target() throws {
        let endpoint = try HTTP1Endpoint(normalizedBaseURL: "https://[::1]:8443/prefix")
        let request = HTTP1ProxyTunnelHandler.connectRequest(
            to: endpoint, proxy: JuneProxy(host: "127.0.0.1", port: 3128))
        #expect(String(decoding: request, as: UTF8.self) == "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n")
    }

    @Test func readsTheStatusOfTheProxysAnswer() {
        #expect(HTTP1ProxyTunnelHandler.status(of: Array("HTTP/1.0 200 Connection established\r\n\r\n".utf8)) == 200)
        #expect(HTTP1ProxyTunnelHandler.status(of: Array("HTTP/1.1 407 Proxy Authentication Required\r\n".utf8)) == 407)
        #expect(HTTP1ProxyTunnelHandler.status(of: Array("HTTP/1.1 20".utf8)) == nil)
        #expect(HTTP1ProxyTunnelHandler.status(of: Array("SSH-2.0-OpenSSH_9.6\r\n\r\n".utf8)) == nil)
        #expect(HTTP1ProxyTunnelHandler.status(of: Array("HTTP/1.1 2x0 OK\r\n\r\n".utf8)) == nil)
    }

    @Test func findsTheEndOfTheHead() {
        #expect(HTTP1ProxyTunnelHandler.endOfHead(Array("HTTP/1.1 200 OK\r\n".utf8)) == nil)
        #expect(HTTP1ProxyTunnelHandler.endOfHead(Array("HTTP/1.1 200 OK\r\n\r\n".utf8)) == 19)
        #expect(HTTP1ProxyTunnelHandler.endOfHead(Array("HTTP/1.1 200 OK\r\nA: b\r\n\r\nextra".utf8)) == 25)
    }
}
