import Foundation
import JuneClient
import JuneTransform
import Testing

/// June requests through a real HTTP proxy (Debian's `tinyproxy`, started per test on loopback): a
/// `CONNECT` tunnel with TLS to the server inside it, proxy credentials, a proxy that refuses or is down,
/// and `NO_PROXY`.
@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientProxyTests {
    static let ok = ScriptedHTTPServer.Reply.response(200, body: #"{"success":true}"#)

    static func event(_ user: String) -> JuneRequest {
        JuneRequest(type: .track, body: Array(#"{"userId":"\#(user)","event":"e"}"#.utf8), orderingKey: user)
    }

    /// A TLS server for `localhost` signed by a throwaway CA, and a client for it through `proxy`.
    struct Target {
        let authority: TestCertificateAuthority
        let server: ScriptedHTTPServer

        static func start() async throws -> Target {
            let authority = try TestCertificateAuthority.make()
            let server = try await ScriptedHTTPServer(tls: authority.serverContext()) { _, _ in
                JuneHTTPClientProxyTests.ok
            }
            return Target(authority: authority, server: server)
        }

        func client(proxy: JuneProxy?) throws -> JuneHTTPClient {
            try JuneHTTPClient(
                configuration: .init(
                    baseURL: "https://localhost:\(self.server.port)",
                    writeKey: "wk_proxy",
                    requestTimeout: .seconds(5),
                    caFile: self.authority.caFile,
                    proxy: proxy
                ),
                logger: quietLogger
            )
        }

        func stop() async {
            await self.server.shutdown()
            self.authority.remove()
        }
    }

    @Test func aRequestThroughTheProxyReachesTheServer() async throws {
        let target = try await Target.start()
        let proxy = try await TinyProxy.start(connectPort: target.server.port)
        let client = try target.client(proxy: JuneProxy(host: "127.0.0.1", port: proxy.port))
        let outcomes = [await client.send(Self.event("p1")), await client.send(Self.event("p2"))]
        try await client.shutdown()
        let proxyLog = proxy.stop()
        await target.stop()

        #expect(outcomes == [.delivered(status: 200), .delivered(status: 200)])
        #expect(target.server.requests.map(\.body) == [Self.event("p1").body, Self.event("p2").body])
        #expect(target.server.connectionCount == 1, "one tunnel, kept alive")
        #expect(proxyLog.contains("CONNECT localhost:\(target.server.port)"), "the proxy carried it: \(proxyLog)")
    }

    @Test func proxyCredentialsAreSentAndWrongOnesAreRetryable() async throws {
        let target = try await Target.start()
        let proxy = try await TinyProxy.start(connectPort: target.server.port, basicAuth: ("relay", "s3cret"))
        let good = try target.client(proxy: JuneProxy(url: "http://relay:s3cret@127.0.0.1:\(proxy.port)"))
        let wrong = try target.client(proxy: JuneProxy(url: "http://relay:nope@127.0.0.1:\(proxy.port)"))
        let missing = try target.client(proxy: JuneProxy(host: "127.0.0.1", port: proxy.port))
        let delivered = await good.send(Self.event("good"))
        let refused = await wrong.send(Self.event("wrong"))
        let unauthenticated = await missing.send(Self.event("missing"))
        for client in [good, wrong, missing] {
            try await client.shutdown()
        }
        proxy.stop()
        await target.stop()

        #expect(delivered == .delivered(status: 200))
        for outcome in [refused, unauthenticated] {
            guard case .retryable(status: nil, retryAfter: nil, let message) = outcome else {
                Issue.record("unexpected \(outcome)")
                continue
            }
            #expect(message.contains("proxy refused CONNECT: 40"), "\(message)")
        }
        guard case .retryable(_, _, let message) = unauthenticated else { return }
        #expect(message.contains("proxy refused CONNECT: 407"), "\(message)")
        #expect(target.server.requests.map(\.body) == [Self.event("good").body])
    }

    @Test func aProxyThatIsDownIsRetryable() async throws {
        let target = try await Target.start()
        let client = try target.client(proxy: JuneProxy(host: "127.0.0.1", port: try await freeLoopbackPort()))
        let outcome = await client.send(Self.event("down"))
        try await client.shutdown()
        await target.stop()
        #expect(outcome.isRetryable && outcome.status == nil, "\(outcome)")
        #expect(target.server.requests.isEmpty)
    }

    @Test func noProxyGoesDirect() async throws {
        let target = try await Target.start()
        let deadProxy = "http://127.0.0.1:\(try await freeLoopbackPort())"
        let url = "https://localhost:\(target.server.port)"
        let direct = try JuneProxy.fromEnvironment(
            ["HTTPS_PROXY": deadProxy, "NO_PROXY": "example.com,localhost"], for: url)
        let proxied = try JuneProxy.fromEnvironment(["HTTPS_PROXY": deadProxy, "NO_PROXY": "example.com"], for: url)
        let directClient = try target.client(proxy: direct)
        let proxiedClient = try target.client(proxy: proxied)
        let directOutcome = await directClient.send(Self.event("direct"))
        let proxiedOutcome = await proxiedClient.send(Self.event("proxied"))
        try await directClient.shutdown()
        try await proxiedClient.shutdown()
        await target.stop()

        #expect(direct == nil)
        #expect(directOutcome == .delivered(status: 200))
        #expect(proxiedOutcome.isRetryable, "the proxy (down) was used: \(proxiedOutcome)")
        #expect(target.server.requests.map(\.body) == [Self.event("direct").body])
    }
}

/// Debian's `tinyproxy` in the foreground on a free loopback port, allowing `CONNECT` to one port only.
struct TinyProxy {
    let port: Int
    let process: TestChildProcess
    let directory: URL

    static func start(connectPort: Int, basicAuth: (user: String, password: String)? = nil) async throws -> TinyProxy {
        try #require(
            toolExists("tinyproxy"),
            "tinyproxy is not installed: `make deps` installs it (and `make test` runs `make deps`)"
        )
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "june-tinyproxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try await freeLoopbackPort()
        var config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 30
            Allow 127.0.0.1
            ConnectPort \(connectPort)
            MaxClients 50
            LogLevel Info

            """
        if let basicAuth {
            config += "BasicAuth \(basicAuth.user) \(basicAuth.password)\n"
        }
        let configFile = directory.appendingPathComponent("tinyproxy.conf")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let process = try TestChildProcess(
            ["tinyproxy", "-d", "-c", configFile.path],
            logFile: directory.appendingPathComponent("tinyproxy.log")
        )
        try await waitUntilListening(port: port)
        return TinyProxy(port: port, process: process, directory: directory)
    }

    /// Stops the proxy, removes its files and returns its log.
    @discardableResult
    func stop() -> String {
        self.process.stop()
        let log = self.process.output
        try? FileManager.default.removeItem(at: self.directory)
        return log
    }
}
