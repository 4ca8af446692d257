import AsyncHTTPClient
import MiniHTTPServer
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(1)))
struct MiniHTTPServerTests {
    static let logger = TestLogging.logger("mini-http-server-tests")

    func withServer(
        _ configuration: MiniHTTPServerConfiguration = .init(port: 0),
        responder: MiniHTTPResponder,
        _ body: (MiniHTTPServer, HTTPClient) async throws -> Void
    ) async throws {
        let server = MiniHTTPServer(configuration: configuration, logger: Self.logger, responder: responder)
        try await server.start()
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        try await withCleanUp {
            try await body(server, client)
        } cleanUp: {
            try await client.shutdown()
            try await server.shutdown()
        }
    }

    func get(
        _ client: HTTPClient, _ url: String, method: HTTPMethod = .GET, body: [UInt8]? = nil, timeout: TimeAmount = .seconds(5)
    ) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers)
    }

    @Test func ephemeralPortIsExposedAndRequestsAreParsed() async throws {
        try await self.withServer(
            responder: .asynchronous({ request in
                .text("\(request.method) \(request.path) \(request.queryParameter("name") ?? "-") \(request.body.count)")
            })
        ) { server, client in
            #expect(server.port > 0)
            let response = try await self.get(client, "http://127.0.0.1:\(server.port)/hello?name=a%20b", method: .POST, body: [1, 2, 3])
            #expect(response.status == 200)
            #expect(response.body == "POST /hello a b 3")
            #expect(response.headers.first(name: "content-type") == "text/plain; charset=utf-8")
        }
    }

    @Test func keepAliveServesManyRequests() async throws {
        try await self.withServer(responder: .synchronous({ _ in .text("ok") })) { server, client in
            for _ in 0..<20 {
                let response = try await self.get(client, "http://127.0.0.1:\(server.port)/")
                #expect(response.status == 200)
                #expect(response.headers.first(name: "connection") == nil)
            }
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        try await self.withServer(.init(port: 0, maxBodySize: 1024), responder: .synchronous({ _ in .text("ok") })) { server, client in
            let small = try await self.get(client, "http://127.0.0.1:\(server.port)/", method: .POST, body: .init(repeating: 1, count: 1024))
            #expect(small.status == 200)
            let large = try await self.get(client, "http://127.0.0.1:\(server.port)/", method: .POST, body: .init(repeating: 1, count: 5000))
            #expect(large.status == 413)
        }
    }

    @Test func delayedResponsesWaitWithoutBlocking() async throws {
        // As many requests as the client opens connections (8), each answered after 2 s: side by side
        // they take about 2 s, one after the other 16 s. The gap is far wider than a starved machine's
        // scheduling delays (up to ~8 s seen).
        let delay = Duration.seconds(2)
        try await self.withServer(responder: .synchronous({ _ in MiniHTTPResponse(status: 204, delay: delay) })) {
            server,
            client in
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await self.get(client, "http://127.0.0.1:\(server.port)/", timeout: .seconds(30)).status }
                }
                for try await status in group {
                    #expect(status == 204)
                }
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= delay)
            #expect(elapsed < delay * 6, "8 delayed responses took \(elapsed): served one after the other?")
        }
    }

    @Test func runReturnsAfterShutdown() async throws {
        let server = MiniHTTPServer(configuration: .init(port: 0), logger: Self.logger) { _ in .text("ok") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await server.start()
            try await server.shutdown()
            try await group.waitForAll()
        }
        await #expect(throws: MiniHTTPServerError.self) { try await server.start() }
    }

    /// As a `Service`: the group's graceful shutdown (SIGTERM in the commands) closes the server and its
    /// `run()` returns, so the group finishes.
    @Test func gracefulShutdownOfItsServiceGroupStopsIt() async throws {
        let server = MiniHTTPServer(configuration: .init(port: 0), logger: Self.logger) { _ in .text("ok") }
        try await server.start()
        let group = ServiceGroup(services: [server], logger: Self.logger)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let response = try await self.get(client, "http://127.0.0.1:\(server.port)/")
                #expect(response.status == 200)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        await #expect(throws: MiniHTTPServerError.self) { try await server.start() }
    }

    @Test func runStopsWhenCancelled() async throws {
        let server = MiniHTTPServer(configuration: .init(port: 0), logger: Self.logger) { _ in .text("ok") }
        // Bound first, so the cancellation below always meets a running server (a loaded machine once
        // cancelled before the bind, and the test flaked).
        try await server.start()
        let task = Task { try await server.run() }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        try await task.value
    }

    @Test func bindFailureIsReported() async throws {
        let first = MiniHTTPServer(configuration: .init(port: 0), logger: Self.logger) { _ in .text("") }
        try await first.start()
        let second = MiniHTTPServer(configuration: .init(port: first.port), logger: Self.logger) { _ in .text("") }
        await #expect {
            try await second.start()
        } throws: { error in
            (error as? MiniHTTPServerError)?.isBindFailure == true
        }
        try await first.shutdown()
    }

    @Test func queryParameters() {
        let request = MiniHTTPRequest(method: "GET", uri: "/x?a=1&b=hello+world&c&d=%2F%zz")
        #expect(request.path == "/x")
        #expect(request.queryParameter("a") == "1")
        #expect(request.queryParameter("b") == "hello world")
        #expect(request.queryParameter("c") == "")
        #expect(request.queryParameter("d") == "/%zz")
        #expect(request.queryParameter("e") == nil)
        #expect(MiniHTTPRequest(method: "GET", uri: "/y").query == nil)
    }

    @Test func headerLookupIsCaseInsensitive() {
        let headers: MiniHTTPHeaders = ["Content-Type": "a", "X-Multi": "1"]
        #expect(headers["content-type"] == "a")
        #expect(headers["CONTENT-TYPE"] == "a")
        #expect(headers["content-typ"] == nil)
        #expect(headers.values(name: "x-multi") == ["1"])
    }
}
