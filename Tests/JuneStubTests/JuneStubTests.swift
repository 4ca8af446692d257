import JuneStub
import MiniHTTPServer
import Testing

@Suite struct JuneStubTests {
    let stub = JuneStub(configuration: .init(port: 0, seed: 1), logger: quietLogger)

    static func event(
        _ path: String = "/api/track",
        body: String,
        authorization: String? = "Basic key",
        contentType: String? = "application/json"
    ) -> MiniHTTPRequest {
        var headers = MiniHTTPHeaders()
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return MiniHTTPRequest(method: "POST", path: path, headers: headers, body: Array(body.utf8))
    }

    static func track(_ user: String, seq: Int) -> MiniHTTPRequest {
        event(body: #"{"userId":"\#(user)","event":"E","properties":{"seq":\#(seq)}}"#)
    }

    @Test func acceptsValidEventsAndCountsThem() throws {
        #expect(self.stub.handle(Self.track("a", seq: 1)).status == 200)
        #expect(self.stub.handle(Self.event("/api/identify", body: #"{"userId":"a","traits":{"seq":2}}"#)).status == 200)
        #expect(self.stub.handle(Self.event("/api/page", body: #"{"anonymousId":"anon","properties":{}}"#)).status == 200)
        #expect(self.stub.handle(Self.event("/api/group", body: #"{"userId":7,"groupId":"g","context":{"seq":1}}"#)).status == 200)
        let stats = self.stub.stats()
        #expect(stats.requests == 4)
        #expect(stats.accepted == 4)
        #expect(stats.uniqueAccepted == 4)
        #expect(stats.users == 3)  // "a", "anon", "7"
        #expect(stats.byType == ["identify": 1, "track": 1, "group": 1, "page": 1])
        #expect(stats.status["200"] == 4)
        #expect(self.stub.acceptedSeqs(user: "a") == [1, 2])
        #expect(self.stub.acceptedSeqs(user: "7") == [1])
    }

    @Test func detectsDuplicatesAndOrderViolations() {
        for seq in [1, 2, 2, 3, 1, 5, 4] {
            #expect(self.stub.handle(Self.track("u", seq: seq)).status == 200)
        }
        let stats = self.stub.stats()
        #expect(stats.accepted == 7)
        #expect(stats.duplicates == 2)  // the second 2, the second 1
        #expect(stats.orderViolations == 1)  // 4 after 5
        #expect(stats.uniqueAccepted == 5)
        #expect(self.stub.acceptedSeqs(user: "u") == [1, 2, 2, 3, 1, 5, 4])
    }

    @Test func usersAreCheckedIndependently() {
        _ = self.stub.handle(Self.track("x", seq: 10))
        _ = self.stub.handle(Self.track("y", seq: 1))
        _ = self.stub.handle(Self.track("x", seq: 11))
        #expect(self.stub.stats().orderViolations == 0)
        #expect(self.stub.stats().duplicates == 0)
    }

    @Test func rejectedEventsDoNotCountForOrder() {
        _ = self.stub.handle(Self.event(body: #"{"userId":"stub-fail-1","event":"E","properties":{"seq":1}}"#))
        _ = self.stub.handle(Self.event(body: #"{"userId":"stub-fail-1","event":"E","properties":{"seq":1}}"#))
        let stats = self.stub.stats()
        #expect(stats.accepted == 0)
        #expect(stats.duplicates == 0)
        #expect(stats.status["503"] == 2)
    }

    @Test(arguments: [nil, "", "Basic", "Basic ", "Basic    ", "Bearer abc"])
    func requiresBasicAuthorization(header: String?) {
        let response = self.stub.handle(Self.event(body: #"{"userId":"a"}"#, authorization: header))
        #expect(response.status == 401)
        #expect(self.stub.stats().status["401"] == 1)
    }

    @Test(arguments: [nil, "text/plain", "application/jsonx"])
    func requiresJSONContentType(contentType: String?) {
        #expect(self.stub.handle(Self.event(body: #"{"userId":"a"}"#, contentType: contentType)).status == 400)
    }

    @Test func acceptsJSONContentTypeWithCharset() {
        #expect(self.stub.handle(Self.event(body: #"{"userId":"a"}"#, contentType: "application/json; charset=utf-8")).status == 200)
    }

    @Test(arguments: ["", "[]", "\"x\"", "{", "{\"a\":}", "{} {}", "not json", "{\"a\":1,}", "{\"a\":tru}"])
    func requiresAJSONObjectBody(body: String) {
        #expect(self.stub.handle(Self.event(body: body)).status == 400)
    }

    @Test func rejectHookAnswers400() {
        let response = self.stub.handle(Self.event(body: #"{"userId":"a","event":"stub:reject","properties":{"seq":1}}"#))
        #expect(response.status == 400)
        #expect(response.body == Array(#"{"error":"rejected by stub"}"#.utf8))
    }

    @Test func failHookAnswers503() {
        #expect(self.stub.handle(Self.track("stub-fail-zed", seq: 1)).status == 503)
        // Only userId counts, not anonymousId.
        #expect(self.stub.handle(Self.event(body: #"{"anonymousId":"stub-fail-zed","event":"E"}"#)).status == 200)
    }

    @Test func outageControlFailsEverythingUntilEnded() {
        let start = self.stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/outage?seconds=60"))
        #expect(start.status == 200)
        #expect(self.stub.handle(Self.track("a", seq: 1)).status == 503)
        #expect(self.stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/outage?seconds=0")).status == 200)
        #expect(self.stub.handle(Self.track("a", seq: 1)).status == 200)
        #expect(self.stub.handle(MiniHTTPRequest(method: "POST", uri: "/control/outage?seconds=abc")).status == 400)
    }

    @Test func outageExpires() async throws {
        self.stub.setOutage(for: .milliseconds(50))
        #expect(self.stub.handle(Self.track("a", seq: 1)).status == 503)
        try await Task.sleep(for: .milliseconds(80))
        #expect(self.stub.handle(Self.track("a", seq: 1)).status == 200)
    }

    @Test func faultRatesAreApplied() {
        let faulty = JuneStub(configuration: .init(port: 0, failRate: 0.3, throttleRate: 0.2, seed: 42), logger: quietLogger)
        var counts: [Int: Int] = [:]
        for seq in 0..<2_000 {
            let response = faulty.handle(Self.track("u\(seq % 10)", seq: seq))
            counts[response.status, default: 0] += 1
            if response.status == 429 {
                #expect(response.headers["Retry-After"] == "1")
            }
        }
        #expect((300...500).contains(counts[429] ?? 0))
        #expect((500...700).contains(counts[503] ?? 0))
        #expect(counts[200]! + counts[429]! + counts[503]! == 2_000)
    }

    @Test func latencyIsAppliedAsAResponseDelay() {
        let slow = JuneStub(configuration: .init(port: 0, latency: .milliseconds(20)), logger: quietLogger)
        #expect(slow.handle(Self.track("a", seq: 1)).delay == .milliseconds(20))
    }

    @Test func statsJSONHasTheDocumentedShape() throws {
        _ = self.stub.handle(Self.track("a", seq: 1))
        _ = self.stub.handle(Self.event(body: "{}", authorization: nil))
        let response = self.stub.handle(MiniHTTPRequest(method: "GET", path: "/stats"))
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        let text = String(decoding: response.body, as: UTF8.self)
        for key in [
            "\"requests\":2", "\"accepted\":1", "\"uniqueAccepted\":1", "\"duplicates\":0", "\"orderViolations\":0",
            "\"users\":1", "\"byType\":{", "\"track\":2", "\"status\":{", "\"200\":1", "\"401\":1", "\"503\":0",
            "\"authorizationSeen\":[\"Basic key\"]", "\"batches\":0", "\"batchItems\":0", "\"batchesRejected\":0",
            "\"duplicateMessageIds\":0", "\"concurrentUserViolations\":0", "\"probes\":0",
        ] {
            #expect(text.contains(key), "\(key) missing in \(text)")
        }
        let decoded = try JuneStubStats.decode(response.body)
        #expect(decoded == self.stub.stats())
    }

    @Test func statsResetClearsCounters() {
        _ = self.stub.handle(Self.track("a", seq: 1))
        #expect(self.stub.handle(MiniHTTPRequest(method: "POST", path: "/stats/reset")).status == 200)
        var zero = JuneStubStats()
        zero.byType = ["identify": 0, "track": 0, "group": 0, "page": 0]
        zero.status = ["200": 0, "400": 0, "401": 0, "429": 0, "503": 0]
        #expect(self.stub.stats() == zero)
    }

    @Test func authorizationSeenIsDistinctAndCapped() {
        for i in 0..<15 {
            _ = self.stub.handle(Self.event(body: #"{"userId":"a"}"#, authorization: "Basic k\(i)"))
            _ = self.stub.handle(Self.event(body: #"{"userId":"a"}"#, authorization: "Basic k\(i)"))
        }
        #expect(self.stub.stats().authorizationSeen.count == 10)
    }

    @Test func eventsEndpointListsSeqsInArrivalOrder() {
        for seq in [3, 1, 2] {
            _ = self.stub.handle(Self.event(body: #"{"userId":"we ird\"user","event":"E","properties":{"seq":\#(seq)}}"#))
        }
        let response = self.stub.handle(MiniHTTPRequest(method: "GET", uri: "/events?user=we%20ird%22user"))
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"user":"we ird\"user","seqs":[3,1,2]}"#)
        #expect(self.stub.handle(MiniHTTPRequest(method: "GET", uri: "/events?user=nobody")).status == 404)
        #expect(self.stub.handle(MiniHTTPRequest(method: "GET", uri: "/events")).status == 400)
    }

    @Test func unknownRoutes() {
        #expect(self.stub.handle(MiniHTTPRequest(method: "GET", path: "/api/track")).status == 405)
        #expect(self.stub.handle(MiniHTTPRequest(method: "POST", path: "/api/alias")).status == 404)
    }
}
