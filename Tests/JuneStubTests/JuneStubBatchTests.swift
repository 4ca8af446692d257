import Foundation
import JuneStub
import MiniHTTPServer
import Testing

/// `POST /sdk/batch`: Segment-style batches as June's SDKs send them, accepted or refused whole.
@Suite struct JuneStubBatchTests {
    let stub = JuneStub(configuration: .init(port: 0, seed: 1), logger: quietLogger)

    static func sdkAuthorization(_ key: String) -> String {
        "Basic " + Data("\(key):".utf8).base64EncodedString()
    }

    static func item(_ user: String, seq: Int, type: String = "track", event: String = "E", messageID: String? = nil) -> String {
        let id = messageID ?? "\(user)-\(seq)"
        return
            #"{"type":"\#(type)","messageId":"\#(id)","userId":"\#(user)","event":"\#(event)","properties":{"seq":\#(seq)},"timestamp":"2026-01-01T00:00:00.000Z"}"#
    }

    static func batch(
        _ items: [String],
        authorization: String? = sdkAuthorization("key"),
        contentType: String? = "application/json"
    ) -> MiniHTTPRequest {
        body(
            #"{"batch":[\#(items.joined(separator: ","))],"sentAt":"2026-01-01T00:00:00.000Z"}"#, authorization: authorization,
            contentType: contentType)
    }

    static func body(
        _ text: String,
        authorization: String? = sdkAuthorization("key"),
        contentType: String? = "application/json"
    ) -> MiniHTTPRequest {
        var headers = MiniHTTPHeaders()
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        return MiniHTTPRequest(method: "POST", path: "/sdk/batch", headers: headers, body: Array(text.utf8))
    }

    static func text(_ response: MiniHTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    // MARK: - Accepting

    @Test func acceptsABatchAndCountsEveryItemLikeAnEvent() {
        let items = [Self.item("a", seq: 1), Self.item("b", seq: 1), Self.item("a", seq: 2, type: "identify")]
        let response = self.stub.handle(Self.batch(items))
        #expect(response.status == 200)
        #expect(Self.text(response) == #"{"success":true}"#)
        let stats = self.stub.stats()
        #expect(stats.requests == 1)
        #expect(stats.batches == 1)
        #expect(stats.batchItems == 3)
        #expect(stats.accepted == 3)
        #expect(stats.uniqueAccepted == 3)
        #expect(stats.users == 2)
        #expect(stats.status["200"] == 1)
        #expect(stats.byType == ["identify": 0, "track": 0, "group": 0, "page": 0])  // per-event endpoints only
        #expect(stats.probes == 0)
        #expect(self.stub.acceptedSeqs(user: "a") == [1, 2])
        #expect(self.stub.acceptedSeqs(user: "b") == [1])
    }

    @Test func orderDuplicatesAndMessageIdsAreCheckedAcrossBatchesAndEndpoints() {
        #expect(self.stub.handle(Self.batch([Self.item("u", seq: 1), Self.item("u", seq: 2)])).status == 200)
        // seq 2 again (a duplicate with the same messageId), then seq 1 after 3 (an order violation).
        #expect(self.stub.handle(Self.batch([Self.item("u", seq: 2), Self.item("u", seq: 3)])).status == 200)
        #expect(self.stub.handle(Self.batch([Self.item("u", seq: 1, messageID: "fresh")])).status == 200)
        // A per-event request continues the same user's checks.
        #expect(self.stub.handle(JuneStubTests.track("u", seq: 4)).status == 200)
        let stats = self.stub.stats()
        #expect(stats.accepted == 6)
        #expect(stats.duplicates == 2)  // the second 2 and the second 1
        #expect(stats.orderViolations == 0)  // duplicates are not counted twice
        #expect(stats.duplicateMessageIds == 1)  // "u-2"; the second 1 came with a new messageId
        #expect(stats.uniqueAccepted == 4)
        #expect(self.stub.acceptedSeqs(user: "u") == [1, 2, 2, 3, 1, 4])
    }

    @Test func orderViolationInsideOneBatchIsCounted() {
        #expect(self.stub.handle(Self.batch([Self.item("u", seq: 5), Self.item("u", seq: 4)])).status == 200)
        #expect(self.stub.stats().orderViolations == 1)
    }

    @Test func everyTypeAndAnonymousUsersAreAccepted() {
        let items = [
            #"{"type":"page","messageId":"p","anonymousId":"anon","properties":{"seq":1}}"#,
            #"{"type":"group","messageId":"g","userId":7,"groupId":"g","traits":{"seq":1}}"#,
            #"{"type":"identify","messageId":"i","userId":"x","context":{"seq":1}}"#,
        ]
        #expect(self.stub.handle(Self.batch(items)).status == 200)
        #expect(self.stub.acceptedSeqs(user: "anon") == [1])
        #expect(self.stub.acceptedSeqs(user: "7") == [1])
        #expect(self.stub.acceptedSeqs(user: "x") == [1])
    }

    @Test func bodyAtTheLimitIsAcceptedAndAboveIsRefused() throws {
        func body(size: Int) -> String {
            let prefix = #"{"batch":[\#(Self.item("a", seq: 1))],"sentAt":""#
            let suffix = #""}"#
            return prefix + String(repeating: "x", count: size - prefix.utf8.count - suffix.utf8.count) + suffix
        }
        let atLimit = body(size: 500_000)
        #expect(atLimit.utf8.count == 500_000)
        #expect(self.stub.handle(Self.body(atLimit)).status == 200)
        let response = self.stub.handle(Self.body(body(size: 500_001)))
        #expect(response.status == 400)
        #expect(Self.text(response) == #"{"error":"batch body is 500001 bytes, above the limit of 500000"}"#)
        #expect(self.stub.stats().batchesRejected == 1)
        #expect(self.stub.stats().accepted == 1)
    }

    // MARK: - Refusing whole batches

    @Test(arguments: [
        ("[]", "body must be a JSON object"),
        ("not json", "body must be a JSON object"),
        (#"{"batch":[]} x"#, "body must be a JSON object"),
        (#"{"batch":[{"type":"track","messageId":"m"},]}"#, "body must be a JSON object"),
        (#"{"sentAt":"2026-01-01T00:00:00Z"}"#, #"missing \"batch\""#),
        (#"{"batch":{}}"#, #"\"batch\" must be an array"#),
        (#"{"batch":null}"#, #"\"batch\" must be an array"#),
        (#"{"batch":[{"type":"track","messageId":"m"},"x"]}"#, "batch[1] must be an object"),
        (#"{"batch":[{"messageId":"m"}]}"#, "batch[0].type must be identify, track, group or page"),
        (#"{"batch":[{"type":"alias","messageId":"m"}]}"#, "batch[0].type must be identify, track, group or page"),
        (#"{"batch":[{"type":"Track","messageId":"m"}]}"#, "batch[0].type must be identify, track, group or page"),
        (#"{"batch":[{"type":1,"messageId":"m"}]}"#, "batch[0].type must be identify, track, group or page"),
        (#"{"batch":[{"type":"track"}]}"#, "batch[0].messageId must be a non-empty string"),
        (#"{"batch":[{"type":"track","messageId":""}]}"#, "batch[0].messageId must be a non-empty string"),
        (#"{"batch":[{"type":"track","messageId":5}]}"#, "batch[0].messageId must be a non-empty string"),
    ])
    func invalidBodiesAreRefusedWith400(body: String, message: String) {
        let response = self.stub.handle(Self.body(body))
        #expect(response.status == 400)
        #expect(Self.text(response) == #"{"error":"\#(message)"}"#)
        let stats = self.stub.stats()
        #expect(stats.batchesRejected == 1)
        #expect(stats.batches == 0)
        #expect(stats.accepted == 0)
        #expect(stats.status["400"] == 1)
    }

    @Test func aRejectMarkedItemRefusesTheWholeBatchAndItsHalvesIsolateIt() {
        let items = (1...4).map { Self.item("u\($0)", seq: 1) } + [Self.item("bad", seq: 1, event: "stub:reject")]
        let whole = self.stub.handle(Self.batch(items))
        #expect(whole.status == 400)
        #expect(Self.text(whole) == #"{"error":"rejected by stub"}"#)
        #expect(self.stub.stats().accepted == 0)
        // What a relay splitting refused batches in halves sends next.
        #expect(self.stub.handle(Self.batch(Array(items[0..<2]))).status == 200)
        #expect(self.stub.handle(Self.batch(Array(items[2...]))).status == 400)
        #expect(self.stub.handle(Self.batch([items[2]])).status == 200)
        #expect(self.stub.handle(Self.batch(Array(items[3...]))).status == 400)
        #expect(self.stub.handle(Self.batch([items[3]])).status == 200)
        #expect(self.stub.handle(Self.batch([items[4]])).status == 400)
        let stats = self.stub.stats()
        #expect(stats.accepted == 4)
        #expect(stats.batches == 3)
        #expect(stats.batchesRejected == 4)
        #expect(stats.duplicates == 0)
    }

    @Test func failingUserAnswers503ForTheWholeBatch() {
        let response = self.stub.handle(Self.batch([Self.item("ok", seq: 1), Self.item("stub-fail-1", seq: 1)]))
        #expect(response.status == 503)
        let stats = self.stub.stats()
        #expect(stats.accepted == 0)
        #expect(stats.batchesRejected == 0)
        #expect(stats.status["503"] == 1)
    }

    // MARK: - Auth and content type

    @Test(arguments: [nil, "", "Basic", "Basic key", "Basic a2V5", "Bearer a2V5Og==", "Basic Og==", "Basic !!!"])
    func requiresTheSDKFormOfBasicCredentials(header: String?) {
        // "a2V5" is base64 of "key" (no colon); "Og==" of ":" (empty key); the raw key is RudderStack's form.
        let response = self.stub.handle(Self.batch([Self.item("a", seq: 1)], authorization: header))
        #expect(response.status == 401)
        #expect(Self.text(response) == #"{"error":"missing or invalid Authorization header"}"#)
        #expect(self.stub.stats().accepted == 0)
    }

    @Test func acceptsAnyKeyWithAPasswordPartWhenNoWriteKeyIsSet() {
        #expect(self.stub.handle(Self.batch([Self.item("a", seq: 1)], authorization: "basic a2V5Og==")).status == 200)
        let withPassword = "Basic " + Data("other:secret".utf8).base64EncodedString()
        #expect(self.stub.handle(Self.batch([Self.item("a", seq: 2)], authorization: withPassword)).status == 200)
        #expect(self.stub.stats().authorizationSeen == ["basic a2V5Og==", withPassword])
    }

    @Test func requiresJSONContentType() {
        #expect(self.stub.handle(Self.batch([Self.item("a", seq: 1)], contentType: "text/plain")).status == 400)
        #expect(self.stub.stats().batchesRejected == 1)
    }

    // MARK: - Faults

    @Test func outageAppliesToBatches() {
        self.stub.setOutage(for: .seconds(60))
        #expect(self.stub.handle(Self.batch([Self.item("a", seq: 1)])).status == 503)
        self.stub.setOutage(for: .zero)
        #expect(self.stub.handle(Self.batch([Self.item("a", seq: 1)])).status == 200)
        #expect(self.stub.stats().accepted == 1)
    }

    @Test func faultRatesApplyPerRequest() {
        let faulty = JuneStub(configuration: .init(port: 0, failRate: 0.3, throttleRate: 0.2, seed: 7), logger: quietLogger)
        var counts: [Int: Int] = [:]
        for n in 0..<1_000 {
            let response = faulty.handle(Self.batch((0..<5).map { Self.item("u\($0)", seq: n) }))
            counts[response.status, default: 0] += 1
        }
        #expect((130...270).contains(counts[429] ?? 0))
        #expect((230...370).contains(counts[503] ?? 0))
        let stats = faulty.stats()
        #expect(stats.batches == counts[200])
        #expect(stats.batchItems == 5 * (counts[200] ?? 0))
        #expect(stats.accepted == stats.batchItems)
        #expect(stats.orderViolations == 0)
    }

    @Test func latencyIsAppliedAsAResponseDelay() {
        let slow = JuneStub(configuration: .init(port: 0, latency: .milliseconds(30)), logger: quietLogger)
        #expect(slow.handle(Self.batch([Self.item("a", seq: 1)])).delay == .milliseconds(30))
    }

    @Test func getIsNotAllowed() {
        #expect(self.stub.handle(MiniHTTPRequest(method: "GET", path: "/sdk/batch")).status == 405)
    }
}
