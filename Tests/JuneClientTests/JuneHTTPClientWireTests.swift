import Foundation
import JuneClient
import JuneTransform
import NIOCore
import NIOSSL
import Testing

/// The June client against a byte-scripted server: what goes on the wire, connection reuse and the
/// answers a real server may give that `MiniHTTPServer` never sends (chunked, 1xx, close, TLS).
@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientWireTests {
    static let ok = ScriptedHTTPServer.Reply.response(200, body: #"{"success":true}"#)

    func client(
        _ server: ScriptedHTTPServer,
        scheme: String = "http",
        host: String = "127.0.0.1",
        path: String = "",
        maxConnections: Int = 8,
        timeout: Duration = .seconds(5),
        tls: TLSConfiguration? = nil
    ) throws -> JuneHTTPClient {
        try JuneHTTPClient(
            configuration: .init(
                baseURL: "\(scheme)://\(host):\(server.port)\(path)",
                writeKey: "wk_wire",
                requestTimeout: timeout,
                maxConnections: maxConnections,
                userAgent: "june-relay/wire-test"
            ),
            tlsConfiguration: tls,
            logger: quietLogger
        )
    }

    static func track(_ user: String, seq: Int = 1) -> JuneRequest {
        JuneRequest(
            type: .track, body: Array(#"{"userId":"\#(user)","event":"e","properties":{"seq":\#(seq)}}"#.utf8),
            orderingKey: user)
    }

    @Test func oneRequestIsExactlyTheExpectedBytes() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, path: "/june/")
        let request = Self.track("zoë")
        let outcome = await client.send(request)
        try await client.shutdown(with: server)

        #expect(outcome == .delivered(status: 200))
        let seen = try server.checkedFirstRequest("POST /june/api/track HTTP/1.1", authorization: "Basic wk_wire", contentLength: request.body.count)
        #expect(seen.body == request.body)
    }

    @Test func keepAliveReusesOneConnection() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server)
        for seq in 1...5 {
            #expect(await client.send(Self.track("ann", seq: seq)) == .delivered(status: 200))
        }
        try await client.shutdown(with: server)
        #expect(server.connectionCount == 1)
        #expect(server.requests.count == 5)
    }

    @Test func connectionCloseAnswersAreNotReused() async throws {
        let server = try await ScriptedHTTPServer { _, _ in
            .response(200, headers: ["Connection: close"], body: "{}", close: true)
        }
        let client = try self.client(server)
        for seq in 1...3 {
            #expect(await client.send(Self.track("bob", seq: seq)) == .delivered(status: 200))
        }
        try await client.shutdown(with: server)
        #expect(server.connectionCount == 3)
    }

    @Test func aConnectionTheServerClosedWhileIdleIsNotReused() async throws {
        // The server answers (keep-alive) and then hangs up, as servers do with idle connections.
        let server = try await ScriptedHTTPServer { _, _ in .response(200, body: "{}", close: true) }
        let client = try self.client(server)
        #expect(await client.send(Self.track("cy", seq: 1)) == .delivered(status: 200))
        try await Task.sleep(for: .milliseconds(200))
        #expect(await client.send(Self.track("cy", seq: 2)) == .delivered(status: 200))
        try await client.shutdown(with: server)
        #expect(server.connectionCount == 2)
    }

    @Test func chunkedErrorBodyIsReadIntoTheMessage() async throws {
        let chunked =
            "HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n"
            + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        let server = try await ScriptedHTTPServer { _, _ in .bytes(Array(chunked.utf8), close: false) }
        let client = try self.client(server)
        let first = await client.send(Self.track("dee", seq: 1))
        let second = await client.send(Self.track("dee", seq: 2))
        try await client.shutdown(with: server)
        #expect(first == .retryable(status: 503, retryAfter: .seconds(7), message: "HTTP 503: hello world"))
        #expect(second == first)
        #expect(server.connectionCount == 1, "a complete chunked answer leaves the connection reusable")
    }

    @Test func longErrorBodiesAreCutToTheMessageLimit() async throws {
        let body = String(repeating: "x", count: 5_000)
        let server = try await ScriptedHTTPServer { _, _ in .response(400, body: body) }
        let client = try self.client(server)
        let outcome = await client.send(Self.track("eve"))
        try await client.shutdown(with: server)
        #expect(
            outcome
                == .rejected(
                    status: 400,
                    message: "HTTP 400: " + String(repeating: "x", count: ResponseClassifier.messageBodyLimit)))
    }

    @Test func interimContinueHeadIsSkipped() async throws {
        let bytes = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"
        let server = try await ScriptedHTTPServer { _, _ in .bytes(Array(bytes.utf8), close: false) }
        let client = try self.client(server)
        let outcome = await client.send(Self.track("fay"))
        try await client.shutdown(with: server)
        #expect(outcome == .delivered(status: 202))
    }

    @Test func closeWithoutAnswerIsRetryableAndTheNextRequestWorks() async throws {
        let server = try await ScriptedHTTPServer { _, index in index == 0 ? .closeWithoutAnswer : Self.ok }
        // A long deadline: the close must be what ends the first exchange, even on a starved machine.
        let client = try self.client(server, timeout: .seconds(30))
        let first = await client.send(Self.track("gus", seq: 1))
        let second = await client.send(Self.track("gus", seq: 2))
        try await client.shutdown(with: server)
        guard case .retryable(status: nil, retryAfter: nil, let message) = first else {
            Issue.record("unexpected \(first)")
            return
        }
        #expect(message.contains("closed"), "\(message)")
        #expect(second == .delivered(status: 200))
    }

    @Test func garbageAnswerIsRetryable() async throws {
        let server = try await ScriptedHTTPServer { _, _ in .bytes(Array("NOT HTTP AT ALL\r\n\r\n".utf8), close: false)
        }
        let client = try self.client(server)
        let outcome = await client.send(Self.track("hal"))
        try await client.shutdown(with: server)
        #expect(outcome.isRetryable)
        #expect(outcome.status == nil)
    }

    @Test func moreRequestsThanConnectionsWaitTheirTurn() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, maxConnections: 2)
        let outcomes = await client.sendAllAtOnce((0..<40).map { Self.track("user-\($0)") })
        try await client.shutdown(with: server)
        #expect(outcomes.count == 40)
        #expect(outcomes.allSatisfy { $0 == .delivered(status: 200) })
        #expect(server.requests.count == 40)
        #expect(server.connectionCount <= 2)
    }

    @Test func silentServerTimesOutAndFreesTheConnection() async throws {
        let server = try await ScriptedHTTPServer { request, _ in
            request.body == Self.track("ida", seq: 1).body ? .silence : Self.ok
        }
        let client = try self.client(server, maxConnections: 1, timeout: .milliseconds(300))
        let first = await client.send(Self.track("ida", seq: 1))
        // The deadline covers connecting too: a generous one keeps this about the freed slot on a busy machine.
        let second = await client.send(Self.track("ida", seq: 2), deadline: .now() + .seconds(5))
        try await client.shutdown(with: server)
        guard case .retryable(status: nil, retryAfter: nil, let message) = first else {
            Issue.record("unexpected \(first)")
            return
        }
        #expect(message.hasPrefix("timeout"), "\(message)")
        #expect(second == .delivered(status: 200), "the one connection slot is free again after a timeout")
        // Two connections, or one when the loaded machine spent the first request's 300 ms connecting.
        #expect((1...2).contains(server.connectionCount))
    }

    @Test func sendAfterShutdownIsRetryable() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server)
        try await client.shutdown()
        let outcome = await client.send(Self.track("jon"))
        await server.shutdown()
        #expect(outcome.isRetryable)
        #expect(server.requests.isEmpty)
    }

    // MARK: - TLS

    @Test func httpsWithATrustedCertificateDelivers() async throws {
        let identity = try TestCertificate.make()
        let server = try await ScriptedHTTPServer(tls: identity.serverContext()) { _, _ in Self.ok }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([identity.certificate])
        let client = try self.client(server, scheme: "https", host: "localhost", tls: tls)
        let outcome = await client.send(Self.track("kim"))
        try await client.shutdown(with: server)
        #expect(outcome == .delivered(status: 200))
        #expect(server.requests.first?.body == Self.track("kim").body)
    }

    @Test func httpsWithAnUntrustedCertificateFailsRetryably() async throws {
        let identity = try TestCertificate.make()
        let server = try await ScriptedHTTPServer(tls: identity.serverContext()) { _, _ in Self.ok }
        // The default: the system trust store, which does not know this self-signed certificate.
        let client = try JuneHTTPClient(
            configuration: .init(
                baseURL: "https://localhost:\(server.port)", writeKey: "k", requestTimeout: .seconds(5)),
            logger: quietLogger
        )
        let outcome = await client.send(Self.track("lee"))
        try await client.shutdown(with: server)
        #expect(outcome.isRetryable)
        #expect(outcome.status == nil)
        #expect(server.requests.isEmpty, "nothing may be sent over an unverified connection")
    }

    @Test func plainHTTPServerBehindAnHTTPSURLFails() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, scheme: "https", host: "localhost", timeout: .seconds(2))
        let outcome = await client.send(Self.track("max"))
        try await client.shutdown(with: server)
        #expect(outcome.isRetryable)
        #expect(server.requests.isEmpty)
    }
}

/// A throwaway self-signed certificate for `localhost`, made with the `openssl` command.
struct TestCertificate {
    var certificate: NIOSSLCertificate
    var privateKey: NIOSSLPrivateKey

    static func make() throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("june-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key.pem").path
        let cert = directory.appendingPathComponent("cert.pem").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl req failed"])
        }
        return TestCertificate(
            certificate: try #require(try NIOSSLCertificate.fromPEMFile(cert).first),
            privateKey: try NIOSSLPrivateKey(file: key, format: .pem)
        )
    }

    func serverContext() throws -> NIOSSLContext {
        try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: [.certificate(self.certificate)], privateKey: .privateKey(self.privateKey))
        )
    }
}
