import JuneTransform
import Testing

@testable import JuneStub

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

    @Test func readsTypeMessageIdAndEmptiness() throws {
        let fields = try #require(self.parse(#"{"type":"track","messageId":"m-1","userId":"u"}"#))
        #expect(fields.type == "track")
        #expect(fields.messageID == "m-1")
        #expect(!fields.isEmpty)
        #expect(try #require(self.parse(#"{"messageId":""}"#)).messageID == nil)
        #expect(try #require(self.parse(#"{"messageId":12}"#)).messageID == nil)
        #expect(try #require(self.parse(" {\n} ")).isEmpty)
    }

    @Test func escapedKeysAndLastDuplicateWin() throws {
        let fields = try #require(
            self.parse(
                #"{"user\u0049d":"first","userId":"second","properties":{"seq":1},"pr\u006fperties":{"seq":2,"seq":3},"m\u0065ssageId":"m"}"#
            ))
        #expect(fields.userId == "second")
        #expect(fields.seq == 3)
        #expect(fields.messageID == "m")
        // A later non-integer seq, or a later non-object container, hides the earlier one.
        #expect(try #require(self.parse(#"{"properties":{"seq":1,"seq":"x"}}"#)).seq == nil)
        #expect(try #require(self.parse(#"{"properties":{"seq":1},"properties":[]}"#)).seq == nil)
        #expect(try #require(self.parse(#"{"userId":"u","userId":null,"anonymousId":"a"}"#)).user == "a")
    }

    @Test func hooksReadTheDecodedText() throws {
        #expect(try #require(self.parse(#"{"event":"stub:rej\u0065ct"}"#)).isRejectMarker)
        #expect(try #require(self.parse(#"{"userId":"stub-f\u0061il-1"}"#)).isFailingUser)
        #expect(try #require(self.parse(#"{"userId":"stub-fail"}"#)).isFailingUser == false)
    }

    @Test(arguments: ["9223372036854775807", "-9223372036854775808", "-0", "0"])
    func integerSeqsAtTheEdges(seq: String) throws {
        #expect(try #require(self.parse(#"{"properties":{"seq":\#(seq)}}"#)).seq == Int(seq))
    }

    @Test(arguments: ["9223372036854775808", "-9223372036854775809", "1e2", "2.0"])
    func seqsThatAreNotIntsAreIgnored(seq: String) throws {
        #expect(try #require(self.parse(#"{"properties":{"seq":\#(seq)}}"#)).seq == nil)
    }

    @Test(
        arguments: [
            [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D], [0x7B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x3A, 0x31, 0x7D],
            [0x7B, 0x22, 0x61, 0x01, 0x22, 0x3A, 0x31, 0x7D],
        ] as [[UInt8]])
    func rejectsInvalidUTF8AndControlCharacters(bytes: [UInt8]) {
        #expect(JuneStubEventFields.parse(bytes) == nil)
        #expect((try? JSONFieldReader.parse(bytes)) == nil)
    }

    @Test func deepButAllowedNestingInsideSkippedValues() {
        // Past 64 levels the skipper spills its container stack; mixed kinds check the bookkeeping.
        let open = String(repeating: #"{"k":["#, count: 150)
        let close = String(repeating: "]}", count: 150)
        #expect(self.parse(#"{"other":\#(open)1\#(close),"userId":"u"}"#)?.user == "u")
        #expect(self.parse(#"{"other":\#(open)1\#(close.dropLast())}"#) == nil)
        let tooDeep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(self.parse(#"{"other":\#(tooDeep)}"#) == nil)
        let deepest = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        #expect(self.parse(#"{"other":\#(deepest)}"#) != nil)
    }

    /// The one-pass scanner accepts exactly what JuneTransform's validating reader accepts, and reads
    /// the same fields, over many random corruptions of realistic bodies.
    @Test func agreesWithJuneTransformsReaderOnCorruptedInput() {
        let samples = [
            #"{"type":"track","messageId":"m\u00e9","userId":"u1","event":"E","properties":{"seq":4,"x":[1,2.5e3,-0.5,true,false,null]},"timestamp":"t"}"#,
            #"{"anonymousId":"a","userId":12,"traits":{"seq":2,"n":{"d":[{}]}},"context":{"seq":-3,"s":"\"\\\/\b\f\n\r\t"}}"#,
            #"{"userId":"\ud83d\ude80 é 中","properties":{"seq":1},"properties":{"seq":"no"},"traits":[],"context":{"seq":9}}"#,
        ]
        let alphabet: [UInt8] = Array(#"{}[]:,"\/ u0123456789abcdefEe.+-tfnrl"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF4, 0xFF]
        var random = JuneStubRandom(seed: 2026)
        var accepted = 0
        for round in 0..<6_000 {
            var bytes = Array(samples[round % samples.count].utf8)
            for _ in 0...(round % 3) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                let byte = alphabet.randomElement(using: &random)!
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                default: if bytes.count > 1 { bytes.remove(at: at) }
                }
            }
            let mine = JuneStubEventFields.parse(bytes)
            let reference = Self.referenceFields(bytes)
            #expect(mine == reference, "\(String(decoding: bytes, as: UTF8.self))")
            if mine != nil { accepted += 1 }
        }
        #expect(accepted > 500)  // the corruptions leave a fair share valid, so both paths are exercised
        for sample in samples {
            #expect(JuneStubEventFields.parse(Array(sample.utf8)) == Self.referenceFields(Array(sample.utf8)))
            #expect(JuneStubEventFields.parse(Array(sample.utf8)) != nil)
        }
    }

    /// The fields as read through JuneTransform's `JSONFieldReader` (validates, then looks up).
    static func referenceFields(_ body: [UInt8]) -> JuneStubEventFields? {
        guard let fields = try? JSONFieldReader.topLevelFields(body) else { return nil }
        func identifier(_ value: JSONRawValue?) -> String? {
            guard let value, value.kind == .string || value.kind == .number, let text = value.scalarText, !text.isEmpty else {
                return nil
            }
            return text
        }
        let userId = identifier(fields["userId"])
        let messageID = fields["messageId"]?.string
        return JuneStubEventFields(
            user: userId ?? identifier(fields["anonymousId"]),
            seq: fields["properties"]?["seq"]?.int ?? fields["traits"]?["seq"]?.int ?? fields["context"]?["seq"]?.int,
            event: fields["event"]?.string,
            userId: userId,
            type: fields["type"]?.string,
            messageID: messageID?.isEmpty == false ? messageID : nil,
            isEmpty: fields.isEmpty
        )
    }
}
