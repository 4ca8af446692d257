import AsyncHTTPClient
import MiniHTTPServer
import NIOCore
import NIOHTTP1
import Testing

@testable import JuneStub

/// `--capacity N` (a queue) and `--capacity-429 N` (429 beyond N), the peaks and latencies in `/stats`.
@Suite struct JuneStubCapacityTests {
    // MARK: - The slots, with a made-up clock

    @Test func aQueueServesNAtOnceInArrivalOrder() {
        var slots = JuneStubSlots(capacity: .queue(2), latency: .milliseconds(100))
        let t0 = ContinuousClock.now
        let delays = (0..<5).map { _ in slots.admit(now: t0) }
        #expect(delays == [100, 100, 200, 200, 300].map { .served(delay: .milliseconds($0)) })
        #expect(slots.peakConcurrent == 2)
        #expect(slots.peakQueued == 3)
        // At +150 ms two are answered, two are being served until +200 and one waits; the newcomer
        // takes the slot the second of those two frees at +200 and is answered at +300.
        #expect(slots.admit(now: t0 + .milliseconds(150)) == .served(delay: .milliseconds(150)))
        // After everything is answered, no wait.
        #expect(slots.admit(now: t0 + .seconds(1)) == .served(delay: .milliseconds(100)))
        #expect(slots.served == 7)
        #expect(slots.refused == 0)
    }

    @Test func rejectAnswersAtOnceBeyondN() {
        var slots = JuneStubSlots(capacity: .reject(2), latency: .milliseconds(100))
        let t0 = ContinuousClock.now
        #expect(slots.admit(now: t0) == .served(delay: .milliseconds(100)))
        #expect(slots.admit(now: t0 + .milliseconds(10)) == .served(delay: .milliseconds(100)))
        #expect(slots.admit(now: t0 + .milliseconds(20)) == .refused)
        #expect(slots.admit(now: t0 + .milliseconds(99)) == .refused)
        #expect(slots.admit(now: t0 + .milliseconds(100)) == .served(delay: .milliseconds(100)))  // first slot freed
        #expect(slots.admit(now: t0 + .milliseconds(101)) == .refused)
        #expect(slots.refused == 3)
        #expect(slots.served == 3)
        #expect(slots.peakConcurrent == 2)
        #expect(slots.peakQueued == 0)
    }

    @Test func unlimitedCountsWhatOverlaps() {
        var slots = JuneStubSlots(capacity: .unlimited, latency: .milliseconds(50))
        let t0 = ContinuousClock.now
        for k in 0..<10 {
            #expect(slots.admit(now: t0 + .milliseconds(k * 10)) == .served(delay: .milliseconds(50)))
        }
        #expect(slots.peakConcurrent == 5)  // arrivals 10 ms apart, each answered after 50 ms
        #expect(slots.peakQueued == 0)
        var instant = JuneStubSlots(capacity: .queue(1), latency: .zero)
        #expect(instant.admit(now: t0) == .served(delay: .zero))
        #expect(instant.admit(now: t0) == .served(delay: .zero))  // a slot held for no time
    }

    @Test func anEarlierClockReadingCountsAsTheLastArrival() {
        var slots = JuneStubSlots(capacity: .queue(1), latency: .milliseconds(10))
        let t0 = ContinuousClock.now
        #expect(slots.admit(now: t0 + .milliseconds(5)) == .served(delay: .milliseconds(10)))
        #expect(slots.admit(now: t0) == .served(delay: .milliseconds(20)))
    }

    @Test func manyRequestsKeepTheListShort() {
        var slots = JuneStubSlots(capacity: .reject(4), latency: .milliseconds(1))
        let t0 = ContinuousClock.now
        for k in 0..<100_000 {
            _ = slots.admit(now: t0 + .microseconds(k * 300))
        }
        #expect(slots.outstanding <= 4)
        #expect(slots.refused == 0)
        #expect(slots.peakConcurrent == 4)
    }

    // MARK: - Through the responder

    @Test func capacity429AnswersAtOnceWithRetryAfterAndCountsIt() {
        let stub = JuneStub(configuration: .init(port: 0, latency: .seconds(30), capacity: .reject(3)), logger: quietLogger)
        for seq in 1...3 {
            let response = stub.handle(JuneStubTests.track("u\(seq)", seq: seq))
            #expect(response.status == 200)
            #expect(response.delay == .seconds(30))
        }
        let refused = stub.handle(JuneStubTests.track("u4", seq: 1))
        #expect(refused.status == 429)
        #expect(refused.headers["Retry-After"] == "1")
        #expect(refused.delay == .zero)
        // Probes and batches meet the same gate, before the auth check.
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeTrack()).status == 429)
        #expect(stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#, authorization: nil)).status == 429)
        #expect(stub.handle(JuneStubBatchTests.batch([JuneStubBatchTests.item("b", seq: 1)])).status == 429)
        let stats = stub.stats()
        #expect(stats.capacityRejections == 4)
        #expect(stats.served == 3)
        #expect(stats.accepted == 3)
        #expect(stats.requests == 6)
        #expect(stats.probes == 1)
        #expect(stats.status["429"] == 3)
        #expect(stats.peakConcurrent == 3)
        #expect(stats.latency.count == 3)
        #expect(stats.latency.p95Ms == 30_000)
    }

    @Test func aQueueDelaysAnswersAndTheLatencyStatsShowIt() throws {
        let stub = JuneStub(configuration: .init(port: 0, latency: .milliseconds(20), capacity: .queue(2)), logger: quietLogger)
        let delays = (1...10).map { stub.handle(JuneStubTests.track("u\($0)", seq: 1)).delay }
        // Arrivals within microseconds: 20, 20, 40, 40, … 100 ms, give or take the time between them.
        for (index, delay) in delays.enumerated() {
            let expected = Duration.milliseconds(20 * (index / 2 + 1))
            #expect(delay <= expected && delay > expected - .milliseconds(5), "\(index): \(delay)")
        }
        let stats = stub.stats()
        #expect(stats.peakConcurrent == 2)
        #expect(stats.peakQueued == 8)
        #expect(stats.status["200"] == 10)
        #expect(stats.latency.count == 10)
        #expect((55...60).contains(stats.latency.meanMs), "\(stats.latency)")
        #expect((95...100).contains(stats.latency.p95Ms), "\(stats.latency)")
        #expect((35...60).contains(stats.latency.p50Ms), "\(stats.latency)")
        // A reset clears peaks and latencies.
        stub.resetStats()
        #expect(stub.stats().peakQueued == 0)
        #expect(stub.stats().latency == JuneStubLatencyStats())
    }

    @Test func statsJSONCarriesCapacityAndLatency() throws {
        let stub = JuneStub(configuration: .init(port: 0, latency: .milliseconds(5), capacity: .reject(1)), logger: quietLogger)
        _ = stub.handle(JuneStubTests.track("a", seq: 1))
        _ = stub.handle(JuneStubTests.track("b", seq: 1))
        let response = stub.handle(MiniHTTPRequest(method: "GET", path: "/stats"))
        let text = String(decoding: response.body, as: UTF8.self)
        for key in [
            "\"served\":1", "\"peakConcurrent\":1", "\"peakQueued\":0", "\"capacityRejections\":1", "\"forcedAnswers\":0",
            "\"latency\":{", "\"p50Ms\":5", "\"p95Ms\":5", "\"meanMs\":5", "\"count\":1",
        ] {
            #expect(text.contains(key), "\(key) missing in \(text)")
        }
        #expect(try JuneStubStats.decode(response.body) == stub.stats())
    }

    // MARK: - Over real sockets

    static func post(_ client: HTTPClient, port: Int, user: String) async throws -> (status: Int, retryAfter: String?) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/track")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Basic key")
        request.body = .bytes(ByteBuffer(string: #"{"userId":"\#(user)","event":"E","properties":{"seq":1}}"#))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return (Int(response.status.code), response.headers.first(name: "Retry-After"))
    }

    /// 12 requests at once to a stub serving 4 at once for 1 s each: `.queue` answers all of them in
    /// three rounds, `.reject` answers 4 and refuses 8. (A second per request: on a busy machine the 12
    /// connections can take a few hundred milliseconds to arrive, and all must arrive within a round.)
    @Test(arguments: [true, false])
    func twelveAtOnceOverSockets(queue: Bool) async throws {
        let capacity: JuneStubCapacity = queue ? .queue(4) : .reject(4)
        let stub = JuneStub(configuration: .init(port: 0, latency: .seconds(1), capacity: capacity), logger: quietLogger)
        try await stub.start()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 16
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let clock = ContinuousClock()
        let start = clock.now
        let results: [(status: Int, retryAfter: String?)]
        do {
            results = try await withThrowingTaskGroup(of: (status: Int, retryAfter: String?).self) { group in
                for k in 0..<12 {
                    group.addTask { try await Self.post(client, port: stub.port, user: "u\(k)") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        } catch {
            try? await client.shutdown()
            try? await stub.shutdown()
            throw error
        }
        let elapsed = clock.now - start
        try await client.shutdown()
        try await stub.shutdown()
        let stats = stub.stats()
        #expect(stats.peakConcurrent == 4)
        if queue {
            #expect(results.allSatisfy { $0.status == 200 })
            #expect(elapsed >= .seconds(3))
            #expect(stats.peakQueued == 8)
            #expect(stats.latency.maxMs >= 2_500)  // the third round (arrivals spread over some ms)
            #expect(stats.accepted == 12)
        } else {
            #expect(results.filter { $0.status == 200 }.count == 4)
            #expect(results.filter { $0.status == 429 && $0.retryAfter == "1" }.count == 8)
            #expect(stats.capacityRejections == 8)
            #expect(stats.accepted == 4)
            #expect(stats.latency.maxMs < 1_500)
        }
    }
}
