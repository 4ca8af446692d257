import Foundation
import JuneTransform
import Testing

/// The per-type transform rules (identify, track, group, page) and the required-field order.
@Suite struct TransformTypeRuleTests {
    private let ts = #""originalTimestamp":"2022-01-20T13:39:21.032Z""#

    // MARK: - identify

    @Test func identifyTraitsPreferContextTraits() throws {
        let body = try TestSupport.body(#"{"type":"identify","userId":"u",\#(ts),"traits":{"a":1},"context":{"traits":{"b":2}}}"#)
        #expect(TestSupport.jsonEqual(body["traits"] ?? [:], ["b": 2]))
        let fallback = try TestSupport.body(#"{"type":"identify","userId":"u",\#(ts),"traits":{"a":1}}"#)
        #expect(TestSupport.jsonEqual(fallback["traits"] ?? [:], ["a": 1]))
    }

    @Test func identifyRequiresTimestamp() {
        #expect(TestSupport.error(#"{"type":"identify"}"#)?.message == #"Missing required value from "userIdOnly""#)
        #expect(TestSupport.error(#"{"type":"identify","userId":"u"}"#)?.message == #"Missing required value from "timestamp""#)
    }

    // MARK: - track

    @Test func trackPropertiesLoseGroupIdButStayAnObject() throws {
        let body = try TestSupport.body(#"{"type":"track","event":"E","userId":"u",\#(ts),"properties":{"groupId":"g"}}"#)
        #expect(TestSupport.jsonEqual(body["properties"] ?? [:], [String: Any]()))
        #expect(TestSupport.jsonEqual(body["context"] ?? [:], ["groupId": "g"]))
    }

    @Test func trackExternalIdWinsAndReplacesContext() throws {
        let body = try TestSupport.body(
            #"{"type":"track","event":"E","userId":"u",\#(ts),"properties":{"groupId":"p","x":1},"context":{"ip":"1.1.1.1","externalId":[{"type":"other","id":"o"},{"type":"juneGroupId","id":"ext"},{"type":"juneGroupId","id":"second"}]}}"#
        )
        #expect(TestSupport.jsonEqual(body["context"] ?? [:], ["groupId": "ext"]))
        #expect(TestSupport.jsonEqual(body["properties"] ?? [:], ["x": 1]))
    }

    @Test func trackWithoutGroupIdKeepsFilteredContext() throws {
        let body = try TestSupport.body(
            #"{"type":"track","event":"E","userId":"u",\#(ts),"context":{"ip":"1.1.1.1","page":{},"externalId":[{"type":"other","id":"o"}]}}"#
        )
        let context = try #require(body["context"] as? [String: Any])
        #expect(Set(context.keys) == ["ip", "externalId"])
    }

    @Test func trackRequiredFieldOrder() {
        #expect(TestSupport.error(#"{"type":"track"}"#)?.message == #"Missing required value from "userIdOnly""#)
        #expect(TestSupport.error(#"{"type":"track","userId":"u"}"#)?.message == #"Missing required value from "event""#)
        #expect(TestSupport.error(#"{"type":"track","userId":"u","event":"E"}"#)?.message == #"Missing required value from "timestamp""#)
        #expect(TestSupport.error(#"{"type":"track","userId":"u","event":""}"#)?.message == #"Missing required value from "event""#)
    }

    // MARK: - group

    @Test func groupTraitsPreferTraitsAndLoseGroupId() throws {
        let body = try TestSupport.body(
            #"{"type":"group","groupId":"G",\#(ts),"traits":{"a":1,"groupId":"x"},"context":{"traits":{"b":2}}}"#
        )
        #expect(TestSupport.jsonEqual(body["traits"] ?? [:], ["a": 1]))
        #expect(body["groupId"] as? String == "G")
        let fallback = try TestSupport.body(#"{"type":"group","groupId":"G",\#(ts),"context":{"traits":{"b":2,"groupId":"y"}}}"#)
        #expect(TestSupport.jsonEqual(fallback["traits"] ?? [:], ["b": 2]))
    }

    @Test func groupIdFromGroupIdElseTraits() throws {
        let body = try TestSupport.body(#"{"type":"group",\#(ts),"groupId":"top","traits":{"groupId":"t"}}"#)
        #expect(body["groupId"] as? String == "top")
        let numeric = try TestSupport.request(#"{"type":"group",\#(ts),"traits":{"groupId":42}}"#)
        #expect(TestSupport.text(numeric.body).contains(#""groupId":42"#))
    }

    @Test func groupUserIdIsOptional() throws {
        let body = try TestSupport.body(#"{"type":"group","groupId":"G","anonymousId":"a",\#(ts)}"#)
        #expect(body["userId"] == nil)
        #expect(body["anonymousId"] as? String == "a")
    }

    @Test func groupRequiredFieldOrder() {
        #expect(TestSupport.error(#"{"type":"group","userId":"u"}"#)?.message == #"Missing required value from "groupId""#)
        #expect(TestSupport.error(#"{"type":"group","groupId":"g"}"#)?.message == #"Missing required value from "timestamp""#)
    }

    // MARK: - page

    @Test func pageAddsGroupIdIntoContext() throws {
        let body = try TestSupport.body(
            #"{"type":"page","properties":{"a":1,"groupId":"pg"},"groupId":"G","context":{"ip":"x","groupId":"old"}}"#
        )
        #expect(TestSupport.jsonEqual(body["context"] ?? [:], ["ip": "x", "groupId": "G"]))
        #expect(TestSupport.jsonEqual(body["properties"] ?? [:], ["a": 1]))
        #expect(body["timestamp"] == nil)
        let fromTraits = try TestSupport.body(#"{"type":"page","properties":{},"traits":{"groupId":"T"}}"#)
        #expect(TestSupport.jsonEqual(fromTraits["context"] ?? [:], ["groupId": "T"]))
    }

    @Test func pageRequiresProperties() {
        #expect(TestSupport.error(#"{"type":"page","userId":"u",\#(ts)}"#)?.message == #"Missing required value from "properties""#)
        #expect(TestSupport.error(#"{"type":"page","userId":"u","properties":null}"#)?.message == #"Missing required value from "properties""#)
    }

    // MARK: - null / absent

    @Test func nullAndAbsentValuesAreLeftOut() throws {
        let body = try TestSupport.body(
            #"{"type":"track","event":"E","userId":"u",\#(ts),"anonymousId":null,"properties":null,"context":null}"#
        )
        #expect(Set(body.keys) == ["userId", "event", "timestamp"])
    }

    @Test func duplicateTopLevelKeysLastWins() throws {
        let body = try TestSupport.body(#"{"type":"alias","type":"track","event":"E","userId":"a","userId":"b",\#(ts)}"#)
        #expect(body["userId"] as? String == "b")
    }
}
