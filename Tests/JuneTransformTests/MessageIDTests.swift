import JuneTransform
import Testing

/// `JuneRequest.messageID`: the event's top-level `messageId` when it is a non-empty JSON string.
@Suite struct MessageIDTests {
    private let track = #""type":"track","event":"E","userId":"u","originalTimestamp":"2022-01-20T13:39:21.032Z""#

    @Test func presentStringIsCarried() throws {
        let request = try TestSupport.request(#"{\#(track),"messageId":"msg-1"}"#)
        #expect(request.messageID == "msg-1")
    }

    @Test func missingIsNil() throws {
        #expect(try TestSupport.request(#"{\#(track)}"#).messageID == nil)
    }

    @Test(arguments: [#""""#, "null", "42", "true", "{}", #"["m"]"#])
    func emptyOrNonStringIsNil(_ value: String) throws {
        #expect(try TestSupport.request(#"{\#(track),"messageId":\#(value)}"#).messageID == nil)
    }

    @Test func escapesAreDecoded() throws {
        let request = try TestSupport.request(#"{\#(track),"messageId":"m\u00e9-\ud83d\ude00-\"q\"\/"}"#)
        #expect(request.messageID == "mé-😀-\"q\"/")
    }

    @Test func escapedKeyCounts() throws {
        #expect(try TestSupport.request(#"{\#(track),"m\u0065ssageId":"k"}"#).messageID == "k")
    }

    @Test func lastDuplicateWins() throws {
        #expect(try TestSupport.request(#"{"messageId":"first",\#(track),"messageId":"second"}"#).messageID == "second")
    }

    @Test func nestedMessageIdIsIgnored() throws {
        let request = try TestSupport.request(#"{\#(track),"properties":{"messageId":"inner"},"context":{"messageId":"c"}}"#)
        #expect(request.messageID == nil)
    }

    @Test func bodyIsUnchanged() throws {
        let with = try TestSupport.request(#"{\#(track),"messageId":"msg-1"}"#)
        let without = try TestSupport.request(#"{\#(track)}"#)
        #expect(with.body == without.body)
        #expect(!TestSupport.text(with.body).contains("messageId"))
    }

    @Test(arguments: ["identify", "group", "page"])
    func everyTypeCarriesIt(_ type: String) throws {
        let json =
            #"{"type":"\#(type)","userId":"u","groupId":"g","properties":{},"timestamp":"t","messageId":"id-\#(type)"}"#
        #expect(try TestSupport.request(json).messageID == "id-\(type)")
    }

    @Test func existingInitializerDefaultsToNil() {
        #expect(JuneRequest(type: .track, body: [], orderingKey: nil).messageID == nil)
    }
}
