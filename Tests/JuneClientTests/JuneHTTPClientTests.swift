import JuneClient
import JuneStub
import JuneTransform
import MiniHTTPServer
import Synchronization
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientTests {
    /// Runs `body` with a started stub on an ephemeral port and a client pointed at it; shuts both down.
    func withStub(
        _ configuration: JuneStubConfiguration = .init(port: 0),
        writeKey: String = "test-write-key",
        requestTimeout: Duration = .seconds(5),
        _ body: (JuneStub, JuneHTTPClient) async throws -> Void
    ) async throws {
        let stub = JuneStub(configuration: configuration, logger: quietLogger)
        try await stub.start()
        let client = try JuneHTTPClient(
            configuration: .init(baseURL: "http://127.0.0.1:\(stub.port)", writeKey: writeKey, requestTimeout: requestTimeout),
            logger: quietLogger
        )
        try await withCleanUp {
            try await body(stub, client)
        } cleanUp: {
            try await client.shutdown()
            try await stub.shutdown()
        }
    }

    static func track(user: String, seq: Int, event: String = "Signed Up") -> JuneRequest {
        let body = #"{"userId":"\#(user)","event":"\#(event)","properties":{"seq":\#(seq)},"timestamp":"2024-01-01T00:00:00Z"}"#
        return JuneRequest(type: .track, body: Array(body.utf8), orderingKey: user)
    }

    @Test func sendsHeadersAndExactBodyBytes() async throws {
        let seen = Mutex<MiniHTTPRequest?>(nil)
        let server = MiniHTTPServer(configuration: .init(port: 0), logger: quietLogger) { request in
            seen.withLock { $0 = request }
            return .json(#"{"success":true}"#)
        }
        try await server.start()
        let client = try JuneHTTPClient(
            configuration: .init(baseURL: "http://127.0.0.1:\(server.port)/", writeKey: "wk_123", userAgent: "june-relay/test"),
            logger: quietLogger
        )
        let body = Array(#"{"userId":"u1","traits":{"name":"Zoë 🚀"},"timestamp":"2024-01-01T00:00:00Z"}"#.utf8)
        let outcome = await client.send(JuneRequest(type: .identify, body: body, orderingKey: "u1"))
        try await client.shutdown()
        try await server.shutdown()

        #expect(outcome == .delivered(status: 200))
        let request = try #require(seen.withLock { $0 })
        #expect(request.method == "POST")
        #expect(request.path == "/api/identify")
        #expect(request.headers["Authorization"] == "Basic wk_123")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["User-Agent"] == "june-relay/test")
        #expect(request.body == body)
    }

    @Test func deliveredEventsReachTheStub() async throws {
        try await self.withStub { stub, client in
            for seq in 1...3 {
                #expect(await client.send(Self.track(user: "alice", seq: seq)) == .delivered(status: 200))
            }
            let stats = stub.stats()
            #expect(stats.accepted == 3)
            #expect(stats.byType["track"] == 3)
            #expect(stats.authorizationSeen == ["Basic test-write-key"])
            #expect(stub.acceptedSeqs(user: "alice") == [1, 2, 3])
        }
    }

    @Test func serviceUnavailableIsRetryable() async throws {
        try await self.withStub { _, client in
            let outcome = await client.send(Self.track(user: "stub-fail-bob", seq: 1))
            guard case .retryable(status: 503, retryAfter: nil, let message) = outcome else {
                Issue.record("unexpected \(outcome)")
                return
            }
            #expect(message.hasPrefix("HTTP 503: {"))
        }
    }

    @Test func throttlingCarriesRetryAfter() async throws {
        try await self.withStub(.init(port: 0, throttleRate: 1, seed: 1)) { _, client in
            let outcome = await client.send(Self.track(user: "carol", seq: 1))
            guard case .retryable(status: 429, retryAfter: .seconds(1), _) = outcome else {
                Issue.record("unexpected \(outcome)")
                return
            }
        }
    }

    @Test func badRequestIsRejectedWithBodyInMessage() async throws {
        try await self.withStub { _, client in
            let outcome = await client.send(Self.track(user: "dave", seq: 1, event: "stub:reject"))
            #expect(outcome == .rejected(status: 400, message: #"HTTP 400: {"error":"rejected by stub"}"#))
        }
    }

    @Test func connectionRefusedIsRetryable() async throws {
        // Bind then release a port so nothing listens there.
        let server = MiniHTTPServer(configuration: .init(port: 0), logger: quietLogger) { _ in .text("") }
        try await server.start()
        let port = server.port
        try await server.shutdown()

        let client = try JuneHTTPClient(
            configuration: .init(baseURL: "http://127.0.0.1:\(port)", writeKey: "k", requestTimeout: .seconds(3)),
            logger: quietLogger
        )
        let started = ContinuousClock.now
        let outcome = await client.send(Self.track(user: "erin", seq: 1))
        let elapsed = ContinuousClock.now - started
        try await client.shutdown()
        guard case .retryable(status: nil, retryAfter: nil, let message) = outcome else {
            Issue.record("unexpected \(outcome)")
            return
        }
        #expect(!message.isEmpty)
        #expect(elapsed < .seconds(2), "a refused connection should fail fast, not wait for the timeout")
    }

    @Test func slowResponseTimesOutAsRetryable() async throws {
        let server = MiniHTTPServer(
            configuration: .init(port: 0), logger: quietLogger,
            synchronousHandler: { _ in
                MiniHTTPResponse(status: 200, delay: .seconds(10))
            })
        try await server.start()
        let client = try JuneHTTPClient(
            configuration: .init(
                baseURL: "http://127.0.0.1:\(server.port)",
                writeKey: "k",
                requestTimeout: .milliseconds(300)
            ),
            logger: quietLogger
        )
        let started = ContinuousClock.now
        let outcome = await client.send(Self.track(user: "frank", seq: 1))
        let elapsed = ContinuousClock.now - started
        try await client.shutdown()
        try await server.shutdown()
        guard case .retryable(status: nil, retryAfter: nil, let message) = outcome else {
            Issue.record("unexpected \(outcome)")
            return
        }
        #expect(message.contains("imeout") || message.contains("deadline"), "\(message)")
        // Far below the server's 10 s: the deadline ended the exchange (the margin absorbs a loaded machine).
        #expect(elapsed < .seconds(5))
    }

    @Test func manyConcurrentSendsShareThePool() async throws {
        try await self.withStub { stub, client in
            await withTaskGroup(of: SendOutcome.self) { group in
                for user in 0..<50 {
                    group.addTask { await client.send(Self.track(user: "user-\(user)", seq: 1)) }
                }
                for await outcome in group {
                    #expect(outcome == .delivered(status: 200))
                }
            }
            #expect(stub.stats().accepted == 50)
            #expect(stub.stats().users == 50)
        }
    }
}
