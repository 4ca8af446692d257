import Foundation
import JuneClient
import JuneTransform
import NIOCore
import Synchronization
import Testing

/// The request deadline covers the whole exchange, waiting for a pooled connection included, and a
/// request whose deadline has passed is never written.
@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientDeadlineTests {
    static let ok = ScriptedHTTPServer.Reply.response(200, body: #"{"success":true}"#)

    static func event(_ user: String) -> JuneRequest {
        JuneRequest(type: .track, body: Array(#"{"userId":"\#(user)","event":"e"}"#.utf8), orderingKey: user)
    }

    func client(_ server: ScriptedHTTPServer, maxConnections: Int = 1) throws -> JuneHTTPClient {
        try JuneHTTPClient(
            configuration: .init(
                baseURL: "http://127.0.0.1:\(server.port)",
                writeKey: "wk_deadline",
                requestTimeout: .seconds(10),
                maxConnections: maxConnections
            ),
            logger: quietLogger
        )
    }

    @Test func aRequestWaitingForTheOnlyConnectionFailsAtItsDeadlineAndIsNeverWritten() async throws {
        // The server holds the first exchange for a while; the second request waits for the one connection
        // with a deadline that passes before the first answer.
        let server = try await ScriptedHTTPServer { _, index in
            index == 0 ? .delayedResponse(200, body: "{}", by: .milliseconds(1_500)) : Self.ok
        }
        let client = try self.client(server)
        let finished = FinishOrder()
        async let first: SendOutcome = {
            let outcome = await client.send(Self.event("first"))
            finished.append("first")
            return outcome
        }()
        while server.requests.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        let second = await client.send(Self.event("second"), deadline: .now() + .milliseconds(200))
        finished.append("second")
        let firstOutcome = await first
        let third = await client.send(Self.event("third"))
        try await client.shutdown(with: server)

        guard case .retryable(status: nil, retryAfter: nil, let message) = second else {
            Issue.record("unexpected \(second)")
            return
        }
        #expect(message.hasPrefix("timeout"), "\(message)")
        #expect(
            finished.names == ["second", "first"],
            "the waiter failed at its own deadline, not when the connection came back")
        #expect(firstOutcome == .delivered(status: 200))
        #expect(third == .delivered(status: 200))
        #expect(
            server.requests.map(\.body) == [Self.event("first").body, Self.event("third").body],
            "the expired request never reached the server")
        #expect(server.connectionCount == 1, "the connection stayed good for the next request")
    }

    @Test func aRequestWhoseDeadlineHasPassedIsNeverWritten() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, maxConnections: 4)
        #expect(await client.send(Self.event("warm")) == .delivered(status: 200))  // an idle connection is ready
        let late = await client.send(Self.event("late"), deadline: .now() - .milliseconds(1))
        let fresh = try self.client(server)
        let lateOnNewConnection = await fresh.send(Self.event("late-too"), deadline: .now() - .milliseconds(1))
        let after = await client.send(Self.event("after"))
        try await client.shutdown()
        try await fresh.shutdown()
        await server.shutdown()

        for outcome in [late, lateOnNewConnection] {
            guard case .retryable(status: nil, retryAfter: nil, let message) = outcome else {
                Issue.record("unexpected \(outcome)")
                continue
            }
            #expect(message.hasPrefix("timeout"), "\(message)")
        }
        #expect(after == .delivered(status: 200))
        #expect(server.requests.map(\.body) == [Self.event("warm").body, Self.event("after").body])
        #expect(
            server.connectionCount == 1, "no connection was opened for an expired request, and the idle one was kept")
    }

    @Test func waitersAreServedInOrderAndEveryOneFinishes() async throws {
        // Many requests on two connections, every exchange held a little: all are answered.
        let server = try await ScriptedHTTPServer { _, _ in .delayedResponse(200, body: "{}", by: .milliseconds(5)) }
        let client = try self.client(server, maxConnections: 2)
        let outcomes = await client.sendAllAtOnce((0..<30).map { Self.event("u\($0)") })
        try await client.shutdown(with: server)
        #expect(outcomes.count == 30)
        #expect(outcomes.allSatisfy { $0 == .delivered(status: 200) })
        #expect(server.connectionCount <= 2)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        // The first exchange holds the only connection for 3 s: long enough that the waiter is still
        // queued when it is cancelled, even when the machine is busy with other tests.
        let server = try await ScriptedHTTPServer { _, index in
            index == 0 ? .delayedResponse(200, body: "{}", by: .seconds(3)) : Self.ok
        }
        let client = try self.client(server)
        async let first = client.send(Self.event("first"))
        while server.requests.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        let waiting = Task { await client.send(Self.event("cancelled")) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        let cancelled = await waiting.value
        #expect(await first == .delivered(status: 200))
        #expect(await client.send(Self.event("next")) == .delivered(status: 200))
        try await client.shutdown(with: server)

        guard case .retryable(status: nil, retryAfter: nil, let message) = cancelled else {
            Issue.record("unexpected \(cancelled)")
            return
        }
        #expect(message == "request cancelled")
        #expect(server.requests.map(\.body) == [Self.event("first").body, Self.event("next").body])
    }
}

/// The order in which concurrent requests finished.
final class FinishOrder: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ name: String) { self.state.withLock { $0.append(name) } }
    var names: [String] { self.state.withLock { $0 } }
}
