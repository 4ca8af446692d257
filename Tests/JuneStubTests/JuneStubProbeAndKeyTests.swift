import JuneStub
import MiniHTTPServer
import Testing

/// The relay's probes (`{}` to `/api/track`, an empty batch) and the write-key check.
@Suite struct JuneStubProbeAndKeyTests {
    static let emptyBatch = #"{"batch":[],"sentAt":"2026-01-01T00:00:00.000Z"}"#

    static func probeTrack(authorization: String = "Basic key") -> MiniHTTPRequest {
        JuneStubTests.event(body: "{}", authorization: authorization)
    }

    static func probeBatch(key: String = "key") -> MiniHTTPRequest {
        JuneStubBatchTests.body(emptyBatch, authorization: JuneStubBatchTests.sdkAuthorization(key))
    }

    // MARK: - Probes

    @Test func probesAreAnsweredAsJuneWouldAndCountedOnlyAsProbes() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        let track = stub.handle(Self.probeTrack())
        #expect(track.status == 400)
        #expect(JuneStubBatchTests.text(track) == #"{"error":"missing required fields"}"#)
        let batch = stub.handle(Self.probeBatch())
        #expect(batch.status == 200)
        #expect(JuneStubBatchTests.text(batch) == #"{"success":true}"#)
        let stats = stub.stats()
        #expect(stats.probes == 2)
        #expect(stats.requests == 0)
        #expect(stats.accepted == 0)
        #expect(stats.batches == 0)
        #expect(stats.batchesRejected == 0)
        #expect(stats.byType["track"] == 0)
        #expect(stats.status.values.reduce(0, +) == 0)
        #expect(stats.authorizationSeen == ["Basic key", JuneStubBatchTests.sdkAuthorization("key")])
    }

    @Test func probesSeeOutagesButNoInjectedFaults() {
        let stub = JuneStub(configuration: .init(port: 0, failRate: 1), logger: quietLogger)
        #expect(stub.handle(Self.probeTrack()).status == 400)
        #expect(stub.handle(Self.probeBatch()).status == 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 503)  // real events do fail
        stub.setOutage(for: .seconds(60))
        #expect(stub.handle(Self.probeTrack()).status == 503)
        #expect(stub.handle(Self.probeBatch()).status == 503)
        stub.setOutage(for: .zero)
        #expect(stub.handle(Self.probeBatch()).status == 200)
        #expect(stub.stats().probes == 5)
    }

    @Test func probesWithAWrongKeyGet401() {
        let stub = JuneStub(configuration: .init(port: 0, writeKey: "right"), logger: quietLogger)
        #expect(stub.handle(Self.probeTrack(authorization: "Basic wrong")).status == 401)
        #expect(stub.handle(Self.probeBatch(key: "wrong")).status == 401)
        #expect(stub.handle(Self.probeTrack(authorization: "Basic right")).status == 400)
        #expect(stub.handle(Self.probeBatch(key: "right")).status == 200)
        #expect(stub.stats().probes == 4)
    }

    @Test func probesAreNotEventsForTheOrderCheck() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.track("a", seq: 2)).status == 200)
        for _ in 0..<3 {
            _ = stub.handle(Self.probeTrack())
            _ = stub.handle(Self.probeBatch())
        }
        #expect(stub.handle(JuneStubTests.track("a", seq: 3)).status == 200)
        let stats = stub.stats()
        #expect(stats.accepted == 2)
        #expect(stats.users == 1)
        #expect(stats.orderViolations == 0)
        #expect(stats.probes == 6)
    }

    @Test func onlyAnEmptyObjectIsAProbe() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#)).status == 200)
        #expect(stub.handle(JuneStubTests.event(body: " { } ")).status == 400)
        #expect(stub.stats().probes == 1)
        #expect(stub.stats().requests == 1)
    }

    // MARK: - Write key

    @Test func configuredWriteKeyIsRequiredInBothForms() {
        let stub = JuneStub(configuration: .init(port: 0, writeKey: "K1"), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#, authorization: "Basic K1")).status == 200)
        let wrong = stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#, authorization: "Basic K2"))
        #expect(wrong.status == 401)
        #expect(JuneStubBatchTests.text(wrong) == #"{"error":"invalid write key"}"#)
        let item = JuneStubBatchTests.item("a", seq: 1)
        #expect(stub.handle(JuneStubBatchTests.batch([item], authorization: JuneStubBatchTests.sdkAuthorization("K1"))).status == 200)
        let wrongBatch = stub.handle(JuneStubBatchTests.batch([item], authorization: JuneStubBatchTests.sdkAuthorization("K2")))
        #expect(wrongBatch.status == 401)
        #expect(JuneStubBatchTests.text(wrongBatch) == #"{"error":"invalid write key"}"#)
        // The raw form on the batch endpoint is not the key, whatever it says.
        #expect(stub.handle(JuneStubBatchTests.batch([item], authorization: "Basic K1")).status == 401)
        let stats = stub.stats()
        #expect(stats.accepted == 2)
        #expect(stats.status["401"] == 3)
        #expect(stats.batchesRejected == 0)
    }

    @Test func writeKeyCanBeChangedAtRunTime() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)  // "Basic key"
        let set = stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/write-key?key=rotated%2Fkey"))
        #expect(set.status == 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 2)).status == 401)
        let rotated = JuneStubTests.event(body: #"{"userId":"a","properties":{"seq":2}}"#, authorization: "Basic rotated/key")
        #expect(stub.handle(rotated).status == 200)
        #expect(stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/write-key?key=")).status == 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 3)).status == 200)
        #expect(stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/write-key")).status == 400)
        #expect(stub.handle(MiniHTTPRequest(method: "GET", uri: "/control/write-key?key=x")).status == 405)
        stub.setWriteKey("api")
        #expect(stub.handle(JuneStubTests.track("a", seq: 4)).status == 401)
        #expect(stub.stats().accepted == 3)
    }

    @Test func emptyConfiguredWriteKeyAcceptsAnyKey() {
        let stub = JuneStub(configuration: .init(port: 0, writeKey: ""), logger: quietLogger)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)
    }
}
