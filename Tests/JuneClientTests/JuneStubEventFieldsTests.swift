@testable import JuneStub
import Testing

@Suite struct JuneStubEventFieldsTests {
    func parse(_ text: String) -> JuneStubEventFields? {
        JuneStubEventFields.parse(Array(text.utf8))
    }

    @Test func extractsUserSeqAndEvent() throws {
        let fields = try #require(self.parse(#"{"event":"Clicked","userId":"u1","anonymousId":"a1","properties":{"x":[1,{"seq":9}],"seq":4}}"#))
        #expect(fields == JuneStubEventFields(user: "u1", seq: 4, event: "Clicked", userId: "u1"))
    }

    @Test func fallsBackToAnonymousIdAndLaterSeqContainers() throws {
        let fields = try #require(self.parse(#" { "anonymousId" : "anon", "userId": null, "context": {"seq": 3}, "traits": {"seq": 2} } "#))
        #expect(fields.user == "anon")
        #expect(fields.userId == nil)
        #expect(fields.seq == 2)  // traits before context
    }

    @Test func numericUserIdAndEscapes() throws {
        let fields = try #require(self.parse(#"{"userId":12345678901234567890,"event":"a\"b\u00e9\ud83d\ude80"}"#))
        #expect(fields.user == "12345678901234567890")
        #expect(fields.event == "a\"bé🚀")
    }

    @Test func nonIntegerSeqIsIgnored() throws {
        #expect(try #require(self.parse(#"{"userId":"u","properties":{"seq":1.5}}"#)).seq == nil)
        #expect(try #require(self.parse(#"{"userId":"u","properties":{"seq":"1"}}"#)).seq == nil)
        #expect(try #require(self.parse(#"{"userId":"","properties":{}}"#)).user == nil)
    }

    @Test(arguments: ["", " ", "[]", "1", "{", "{\"a\"}", "{\"a\":1 \"b\":2}", "{\"a\":[1,]}", "{\"a\":\"\n\"}", "{\"a\":01x}", "{\"a\":-}"])
    func rejectsNonObjects(text: String) {
        #expect(self.parse(text) == nil)
    }

    @Test func rejectsExcessiveNesting() {
        // The stub reads bodies with JuneTransform's reader, which refuses nesting deeper than 512 levels.
        let deep = "{\"a\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        #expect(self.parse(deep) == nil)
        let fine = "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(self.parse(fine) != nil)
    }
}
