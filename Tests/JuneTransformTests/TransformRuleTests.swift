import Foundation
import JuneTransform
import Testing

/// Transform rules that no conformance vector covers: type, userId chain, timestamp, context.
@Suite struct TransformRuleTests {
    private let ts = #""originalTimestamp":"2022-01-20T13:39:21.032Z""#

    // MARK: - type

    @Test func typeIsLowerCased() throws {
        let request = try TestSupport.request(#"{"type":"TRACK","event":"E","userId":"u",\#(ts)}"#)
        #expect(request.type == .track)
        #expect(request.path == "/api/track")
        #expect(try TestSupport.request(#"{"type":"IdEnTiFy","userId":"u",\#(ts)}"#).type == .identify)
    }

    @Test(arguments: [#""""#, "null", "false", "0"])
    func emptyTypeIsRequired(_ type: String) {
        let error = TestSupport.error(#"{"type":\#(type),"userId":"u",\#(ts)}"#)
        #expect(error?.message == "Event type is required")
        #expect(error?.reason == .invalidEvent)
        #expect(error?.statusCode == 400)
    }

    @Test(arguments: ["screen", "alias", "Screen"])
    func unsupportedTypes(_ type: String) {
        let error = TestSupport.error(#"{"type":"\#(type)","userId":"u",\#(ts)}"#)
        #expect(error?.message == "Event type \"\(type.lowercased())\" is not supported")
    }

    @Test func nonStringTypeIsUnsupported() {
        #expect(TestSupport.error(#"{"type":7,"userId":"u",\#(ts)}"#)?.message == #"Event type "7" is not supported"#)
    }

    @Test func escapedTypeIsDecoded() throws {
        #expect(try TestSupport.request(#"{"type":"tr\u0061ck","event":"E","userId":"u",\#(ts)}"#).type == .track)
    }

    // MARK: - userId

    @Test(arguments: [
        (#""userId":"a","traits":{"userId":"b","id":"c"},"context":{"traits":{"userId":"d","id":"e"}}"#, "a"),
        (#""traits":{"userId":"b","id":"c"},"context":{"traits":{"userId":"d","id":"e"}}"#, "b"),
        (#""traits":{"id":"c"},"context":{"traits":{"userId":"d","id":"e"}}"#, "c"),
        (#""context":{"traits":{"userId":"d","id":"e"}}"#, "d"),
        (#""context":{"traits":{"id":"e"}}"#, "e"),
        (#""userId":"","traits":{"userId":null,"id":""},"context":{"traits":{"userId":"","id":"e"}}"#, "e"),
        (#""userId":null,"traits":{"id":"c"}"#, "c"),
    ])
    func userIdPrecedence(_ members: String, _ expected: String) throws {
        let body = try TestSupport.body(#"{"type":"track","event":"E",\#(members),\#(ts)}"#)
        #expect(body["userId"] as? String == expected)
    }

    @Test func anonymousIdIsNeverTheUserId() {
        let error = TestSupport.error(#"{"type":"identify","anonymousId":"anon",\#(ts)}"#)
        #expect(error?.message == #"Missing required value from "userIdOnly""#)
    }

    @Test(arguments: ["false", "0", "{}", "[]", "-0", "0.0"])
    func falsyButPresentValuesCount(_ value: String) throws {
        let request = try TestSupport.request(#"{"type":"track","event":"E","userId":\#(value),"traits":{"userId":"b"},\#(ts)}"#)
        let text = TestSupport.text(request.body)
        #expect(text.contains(#""userId":\#(value)"#), "\(text)")
    }

    @Test func numericUserIdStaysANumber() throws {
        let request = try TestSupport.request(#"{"type":"track","event":"E","userId":12345,\#(ts)}"#)
        #expect(TestSupport.text(request.body).contains(#""userId":12345"#))
        #expect(request.orderingKey == "12345")
    }

    @Test func orderingKeyFallsBackToAnonymousId() throws {
        let page = try TestSupport.request(#"{"type":"page","anonymousId":"anon-1","properties":{},\#(ts)}"#)
        #expect(page.orderingKey == "anon-1")
        let none = try TestSupport.request(#"{"type":"page","properties":{}}"#)
        #expect(none.orderingKey == nil)
        let escaped = try TestSupport.request(#"{"type":"page","userId":"caf\u00e9","properties":{}}"#)
        #expect(escaped.orderingKey == "café")
    }

    // MARK: - timestamp

    @Test func timestampWinsOverOriginalTimestamp() throws {
        let body = try TestSupport.body(#"{"type":"track","event":"E","userId":"u","timestamp":"T1","originalTimestamp":"T2"}"#)
        #expect(body["timestamp"] as? String == "T1")
        let fallback = try TestSupport.body(#"{"type":"track","event":"E","userId":"u","timestamp":"","originalTimestamp":"T2"}"#)
        #expect(fallback["timestamp"] as? String == "T2")
        let number = try TestSupport.request(#"{"type":"track","event":"E","userId":"u","timestamp":1642686000000}"#)
        #expect(TestSupport.text(number.body).contains(#""timestamp":1642686000000"#))
    }

    // MARK: - context

    @Test func contextDropsSessionAndPageFields() throws {
        let body = try TestSupport.body(
            #"{"type":"identify","userId":"u",\#(ts),"context":{"page":{"url":"x"},"traits":{"a":1},"sessionId":1,"sessionStart":true,"consentManagement":{},"ip":"1.2.3.4","library":{"name":"js"}}}"#
        )
        let context = try #require(body["context"] as? [String: Any])
        #expect(Set(context.keys) == ["ip", "library"])
    }

    @Test func contextLeftOutWhenEmpty() throws {
        let body = try TestSupport.body(
            #"{"type":"identify","userId":"u",\#(ts),"context":{"page":{},"traits":{},"sessionId":1,"sessionStart":true,"consentManagement":{}}}"#
        )
        #expect(body["context"] == nil)
        #expect(try TestSupport.body(#"{"type":"identify","userId":"u",\#(ts),"context":"str"}"#)["context"] == nil)
    }

    @Test func contextKeysWithEscapesAreRecognised() throws {
        let body = try TestSupport.body(#"{"type":"identify","userId":"u",\#(ts),"context":{"p\u0061ge":{},"ip":"x"}}"#)
        #expect(TestSupport.jsonEqual(body["context"] ?? [:], ["ip": "x"]))
    }
}
