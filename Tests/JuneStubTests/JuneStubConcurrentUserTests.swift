import AsyncHTTPClient
import Foundation
import MiniHTTPServer
import NIOCore
import NIOHTTP1
import Testing
import TestSupport

@testable import JuneStub

/// "No user in two requests at once": a user arriving while a request of theirs is still being
/// answered counts in `concurrentUserViolations`.
@Suite struct JuneStubConcurrentUserTests {
    // MARK: - The ledger, with a made-up clock

    /// A ledger on a made-up clock: requests arrive and are answered at offsets from a fixed start.
    struct ClockedLedger {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now

        /// A request of `users` arriving at `start`, its response written at `end`.
        mutating func enter(_ users: [String?], at start: Duration, until end: Duration) {
            ledger.enter(users: users, now: t0 + start, until: t0 + end)
        }

        mutating func reset() { ledger.reset() }

        var stats: JuneStubStats { ledger.stats }
    }

    @Test func aUserIsBusyUntilTheirResponseIsWritten() {
        var ledger = ClockedLedger()
        let latency = Duration.milliseconds(100)
        ledger.enter(["a"], at: .zero, until: latency)
        ledger.enter(["b"], at: .milliseconds(10), until: .milliseconds(10) + latency)
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(["a"], at: .milliseconds(50), until: .milliseconds(50) + latency)
        #expect(ledger.stats.concurrentUserViolations == 1)
        // The second request keeps "a" busy until its own response (t0 + 150 ms).
        ledger.enter(["a"], at: .milliseconds(120), until: .milliseconds(120) + latency)
        #expect(ledger.stats.concurrentUserViolations == 2)
        // After the last response: free again.
        ledger.enter(["a", "b"], at: .milliseconds(300), until: .milliseconds(300) + latency)
        #expect(ledger.stats.concurrentUserViolations == 2)
    }

    @Test func aBatchMayCarryAUserSeveralTimesButCountsOncePerRequest() {
        var ledger = ClockedLedger()
        ledger.enter(["a", "a", nil, "b", "a"], at: .zero, until: .seconds(1))
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(["a", "a", "c", "b"], at: .milliseconds(1), until: .seconds(1))
        #expect(ledger.stats.concurrentUserViolations == 2)  // a and b, once each
    }

    @Test func withoutLatencyOnlyTrueOverlapsCount() {
        var ledger = ClockedLedger()
        ledger.enter(["a"], at: .zero, until: .zero)
        ledger.enter(["a"], at: .zero, until: .zero)
        ledger.enter(["a"], at: .nanoseconds(1), until: .nanoseconds(1))
        #expect(ledger.stats.concurrentUserViolations == 0)
    }

    @Test func manyUsersArePrunedWithoutForgettingBusyOnes() {
        var ledger = ClockedLedger()
        ledger.enter(["long"], at: .zero, until: .seconds(60))
        for k in 0..<20_000 {
            ledger.enter(["u\(k)"], at: .milliseconds(k), until: .milliseconds(k))
        }
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(["long"], at: .seconds(30), until: .seconds(31))
        #expect(ledger.stats.concurrentUserViolations == 1)
    }

    @Test func resetKeepsUsersInFlight() {
        var ledger = ClockedLedger()
        ledger.enter(["a"], at: .zero, until: .seconds(1))
        ledger.reset()
        ledger.enter(["a"], at: .milliseconds(1), until: .seconds(1))
        #expect(ledger.stats.concurrentUserViolations == 1)
    }

    // MARK: - Through the responder

    @Test func perEventAndBatchRequestsShareTheCheck() {
        let stub = JuneStub(configuration: .init(port: 0, latency: .seconds(30)), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)
        #expect(stub.handle(JuneStubTests.track("b", seq: 1)).status == 200)
        #expect(stub.stats().concurrentUserViolations == 0)
        let items = [JuneStubBatchTests.item("a", seq: 2), JuneStubBatchTests.item("a", seq: 3), JuneStubBatchTests.item("c", seq: 1)]
        #expect(stub.handle(JuneStubBatchTests.batch(items)).status == 200)
        #expect(stub.stats().concurrentUserViolations == 1)  // "a"
        // Refused requests still hold their users: the client has no answer yet either.
        #expect(stub.handle(JuneStubTests.track("stub-fail-x", seq: 1)).status == 503)
        #expect(stub.handle(JuneStubTests.track("stub-fail-x", seq: 1)).status == 503)
        #expect(stub.stats().concurrentUserViolations == 2)
        // Probes carry no user.
        _ = stub.handle(JuneStubProbeAndKeyTests.probeBatch())
        #expect(stub.stats().concurrentUserViolations == 2)
    }

    // MARK: - Over real sockets

    /// With latency, requests for one user sent one after another never count (the user is released
    /// before the response is written); two at once do.
    @Test func realClientsSendingInTurnNeverTrigger() async throws {
        let stub = JuneStub(configuration: .init(port: 0, latency: .milliseconds(150)), logger: quietLogger)
        try await stub.start()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withCleanUp {
            let base = "http://127.0.0.1:\(stub.port)"
            func send(_ user: String, seq: Int, batch: Bool) async throws -> Int {
                var request = HTTPClientRequest(url: base + (batch ? "/sdk/batch" : "/api/track"))
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                let body: String
                if batch {
                    request.headers.add(name: "Authorization", value: JuneStubBatchTests.sdkAuthorization("key"))
                    body = #"{"batch":[\#(JuneStubBatchTests.item(user, seq: seq))],"sentAt":"x"}"#
                } else {
                    request.headers.add(name: "Authorization", value: "Basic key")
                    body = #"{"userId":"\#(user)","event":"E","properties":{"seq":\#(seq)}}"#
                }
                request.body = .bytes(ByteBuffer(string: body))
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 16)
                return Int(response.status.code)
            }
            // Two users, each in turn, alternating endpoints, over several connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in ["p", "q"] {
                    group.addTask {
                        for seq in 1...6 {
                            let status = try await send(user, seq: seq, batch: seq % 2 == 0)
                            #expect(status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(stub.stats().concurrentUserViolations == 0)
            #expect(stub.stats().accepted == 12)

            // Now two requests for "p" at once.
            async let first = send("p", seq: 7, batch: false)
            async let second = send("p", seq: 8, batch: true)
            #expect(try await [first, second] == [200, 200])
            #expect(stub.stats().concurrentUserViolations == 1)
        } cleanUp: {
            try await client.shutdown()
            try await stub.shutdown()
        }
    }
}
