import Foundation
import JuneClient
import JuneTransform
import NIOSSL
import Testing

/// TLS as operators meet it: TLS 1.2 as the floor (a TLS 1.1-only `openssl s_server` is refused), and a
/// private certificate authority trusted through `caFile` (`--june-ca-file`).
@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientTLSTests {
    static let ok = ScriptedHTTPServer.Reply.response(200, body: #"{"success":true}"#)
    static let event = JuneRequest(type: .track, body: Array(#"{"userId":"tls","event":"e"}"#.utf8), orderingKey: "tls")

    func client(port: Int, caFile: String?) throws -> JuneHTTPClient {
        try JuneHTTPClient(
            configuration: .init(
                baseURL: "https://localhost:\(port)", writeKey: "wk_tls", requestTimeout: .seconds(5), caFile: caFile),
            logger: quietLogger
        )
    }

    @Test func aTLS11OnlyServerIsRefused() async throws {
        let authority = try TestCertificateAuthority.make()
        defer { authority.remove() }
        let port = try await freeLoopbackPort()
        let server = try TestChildProcess(
            [
                "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", authority.serverCertificateFile,
                "-key", authority.serverKeyFile, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-www",
            ],
            logFile: authority.directory.appendingPathComponent("s_server.log")
        )
        defer { server.stop() }
        try await waitUntilListening(port: port)

        // Control: the server does speak TLS 1.1 to a client that allows it.
        let control = try runTool(
            ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
            check: false
        )
        #expect(control.contains("TLSv1.1"), "\(control)")

        let client = try self.client(port: port, caFile: authority.caFile)
        let outcome = await client.send(Self.event)
        try await client.shutdown()
        server.stop()

        #expect(outcome.isRetryable, "\(outcome)")
        #expect(!outcome.isDelivered)
        #expect(outcome.status == nil)
        #expect(
            server.output.contains("unsupported protocol"),
            "the server saw a client that offers only TLS 1.2+: \(server.output)")
    }

    @Test func aTLS12ServerSignedByThePrivateCAWorksOnlyWithTheCAFile() async throws {
        let authority = try TestCertificateAuthority.make()
        defer { authority.remove() }
        let server = try await ScriptedHTTPServer(tls: authority.serverContext(maximumTLSVersion: .tlsv12)) { _, _ in
            Self.ok
        }

        let withoutCA = try self.client(port: server.port, caFile: nil)
        let refused = await withoutCA.send(Self.event)
        try await withoutCA.shutdown()

        let withCA = try self.client(port: server.port, caFile: authority.caFile)
        let delivered = await withCA.send(Self.event)
        try await withCA.shutdown()
        await server.shutdown()

        #expect(
            refused.isRetryable && refused.status == nil,
            "the system trust store does not know the private CA: \(refused)")
        #expect(delivered == .delivered(status: 200))
        #expect(server.requests.count == 1, "nothing was sent over the unverified connection")
        #expect(server.requests.first?.body == Self.event.body)
    }
}
