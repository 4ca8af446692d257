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

    @Test func aUserIsBusyUntilTheirResponseIsWritten() {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now
        let latency = Duration.milliseconds(100)
        ledger.enter(users: ["a"], now: t0, until: t0 + latency)
        ledger.enter(users: ["b"], now: t0 + .milliseconds(10), until: t0 + .milliseconds(10) + latency)
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(users: ["a"], now: t0 + .milliseconds(50), until: t0 + .milliseconds(50) + latency)
        #expect(ledger.stats.concurrentUserViolations == 1)
        // The second request keeps "a" busy until its own response (t0 + 150 ms).
        ledger.enter(users: ["a"], now: t0 + .milliseconds(120), until: t0 + .milliseconds(120) + latency)
        #expect(ledger.stats.concurrentUserViolations == 2)
        // After the last response: free again.
        ledger.enter(users: ["a", "b"], now: t0 + .milliseconds(300), until: t0 + .milliseconds(300) + latency)
        #expect(ledger.stats.concurrentUserViolations == 2)
    }

    @Test func aBatchMayCarryAUserSeveralTimesButCountsOncePerRequest() {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now
        let until = t0 + .seconds(1)
        ledger.enter(users: ["a", "a", nil, "b", "a"], now: t0, until: until)
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(users: ["a", "a", "c", "b"], now: t0 + .milliseconds(1), until: until)
        #expect(ledger.stats.concurrentUserViolations == 2)  // a and b, once each
    }

    @Test func withoutLatencyOnlyTrueOverlapsCount() {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now
        ledger.enter(users: ["a"], now: t0, until: t0)
        ledger.enter(users: ["a"], now: t0, until: t0)
        ledger.enter(users: ["a"], now: t0 + .nanoseconds(1), until: t0 + .nanoseconds(1))
        #expect(ledger.stats.concurrentUserViolations == 0)
    }

    @Test func manyUsersArePrunedWithoutForgettingBusyOnes() {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now
        ledger.enter(users: ["long"], now: t0, until: t0 + .seconds(60))
        for k in 0..<20_000 {
            let now = t0 + .milliseconds(k)
            ledger.enter(users: ["u\(k)"], now: now, until: now)
        }
        #expect(ledger.stats.concurrentUserViolations == 0)
        ledger.enter(users: ["long"], now: t0 + .seconds(30), until: t0 + .seconds(31))
        #expect(ledger.stats.concurrentUserViolations == 1)
    }

    @Test func resetKeepsUsersInFlight() {
        var ledger = JuneStubLedger()
        let t0 = ContinuousClock.now
        ledger.enter(users: ["a"], now: t0, until: t0 + .seconds(1))
        ledger.reset()
        ledger.enter(users: ["a"], now: t0 + .milliseconds(1), until: t0 + .seconds(1))
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
