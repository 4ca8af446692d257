import JuneStub
import MiniHTTPServer
import Testing

/// `POST /control/answer?status=N[&seconds=S][&events-only=1]`.
@Suite struct JuneStubForcedAnswerTests {
    static func control(_ query: String) -> MiniHTTPRequest {
        MiniHTTPRequest(method: "POST", uri: "/control/answer?" + query)
    }

    static let batchItem = JuneStubBatchTests.item("b", seq: 1)

    @Test(arguments: [410, 400, 503, 429])
    func everyRequestIsAnsweredWithTheStatusAfterTheAuthCheck(status: Int) {
        let stub = JuneStub(configuration: .init(port: 0, writeKey: "key"), logger: quietLogger)
        #expect(stub.handle(Self.control("status=\(status)")).status == 200)
        let event = stub.handle(JuneStubTests.track("a", seq: 1))
        #expect(event.status == status)
        #expect(event.headers["Retry-After"] == (status == 429 ? "1" : nil))
        #expect(stub.handle(JuneStubBatchTests.batch([Self.batchItem])).status == status)
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeTrack()).status == status)
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeBatch()).status == status)
        // A wrong key is still refused first; a wrong content type gets the forced answer.
        #expect(stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#, authorization: "Basic other")).status == 401)
        #expect(stub.handle(JuneStubTests.event(body: #"{"userId":"a"}"#, contentType: "text/plain")).status == status)
        let stats = stub.stats()
        #expect(stats.forcedAnswers == 5)
        #expect(stats.accepted == 0)
        #expect(stats.batches == 0)
        #expect(stats.batchesRejected == 0)
        #expect(stats.status[String(status)] == 3)
        #expect(stats.probes == 2)
        // status=0 ends it.
        #expect(stub.handle(Self.control("status=0")).status == 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeTrack()).status == 400)
        #expect(stub.stats().forcedAnswers == 5)
        #expect(stub.stats().accepted == 1)
    }

    @Test func aForced2xxIsNotRecordedAsDelivered() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        stub.setForcedAnswer(status: 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)
        #expect(stub.handle(JuneStubBatchTests.batch([Self.batchItem])).status == 200)
        #expect(stub.stats().accepted == 0)
        #expect(stub.stats().batches == 0)
        #expect(stub.acceptedSeqs(user: "a") == [])
        #expect(stub.stats().forcedAnswers == 2)
    }

    @Test func eventsOnlyLeavesProbesAlone() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(Self.control("status=503&events-only=1")).status == 200)
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeTrack()).status == 400)  // as June answers {}
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeBatch()).status == 200)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 503)
        #expect(stub.handle(JuneStubBatchTests.batch([Self.batchItem])).status == 503)
        #expect(stub.handle(JuneStubTests.event(body: "not json")).status == 503)  // not the probe {}
        let stats = stub.stats()
        #expect(stats.forcedAnswers == 3)
        #expect(stats.probes == 2)
        #expect(stats.accepted == 0)
        // An outage still reaches the probes.
        stub.setOutage(for: .seconds(60))
        #expect(stub.handle(JuneStubProbeAndKeyTests.probeBatch()).status == 503)
        #expect(stub.stats().forcedAnswers == 3)
    }

    @Test func aTimedAnswerEnds() async throws {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        let response = stub.handle(Self.control("status=410&seconds=0.05"))
        #expect(response.status == 200)
        #expect(JuneStubBatchTests.text(response) == #"{"answer":410,"seconds":0.05,"eventsOnly":false}"#)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 410)
        try await Task.sleep(for: .milliseconds(80))
        #expect(stub.handle(JuneStubTests.track("a", seq: 2)).status == 200)
        #expect(stub.stats().forcedAnswers == 1)
        #expect(stub.acceptedSeqs(user: "a") == [2])
    }

    @Test(arguments: [
        "", "status=", "status=abc", "status=99", "status=600", "status=410&seconds=0", "status=410&seconds=-1",
        "status=410&seconds=x", "status=410&events-only=yes",
    ])
    func badParametersAre400(query: String) {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(Self.control(query)).status == 400)
        #expect(stub.handle(JuneStubTests.track("a", seq: 1)).status == 200)
    }

    @Test func onlyPOST() {
        let stub = JuneStub(configuration: .init(port: 0), logger: quietLogger)
        #expect(stub.handle(MiniHTTPRequest(method: "GET", uri: "/control/answer?status=410")).status == 405)
    }
}
