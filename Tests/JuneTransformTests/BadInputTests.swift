import Foundation
import JuneTransform
import Testing

/// Bytes that are not a valid event all become a TransformError with status 400; nothing crashes.
@Suite struct BadInputTests {
    @Test(arguments: [
        "not json", "{", #"{"type":"track""#, #"{"type":"track","#, #"{"a":}"#, #"{"a":1,}"#, "[1,2", #"{"a" 1}"#,
        #"{"a":tru}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":1e}"#, #"{"a":"\x"}"#, #"{"a":"\u12"}"#,
        "{\"a\":\"tab\there\"}", #"{"a":1} x"#, #"{"a":1}{"#, "{'a':1}", #"{a:1}"#, "\u{FEFF}{}", #"{"a":NaN}"#,
    ])
    func invalidJSONIsRejected(_ input: String) {
        let error = TestSupport.error(input)
        #expect(error?.reason == .invalidJSON)
        #expect(error?.statusCode == 400)
        #expect(error?.message.hasPrefix("Invalid JSON") == true, "\(error?.message ?? "")")
    }

    @Test func truncatedEventReportsEndOfInput() {
        let error = TestSupport.error(#"{"type":"track","userId":"#)
        #expect(error?.message == "Invalid JSON: unexpected end of input at byte 25")
    }

    @Test(arguments: [("[]", "an array"), (#""str""#, "a string"), ("42", "a number"), ("null", "null"), ("true", "a boolean")])
    func nonObjectsAreInvalidEvents(_ input: String, _ what: String) {
        let error = TestSupport.error(input)
        #expect(error?.reason == .invalidEvent)
        #expect(error?.message == "Event must be a JSON object, not \(what)")
    }

    @Test func emptyInputAndTombstones() {
        #expect(TestSupport.error([UInt8]())?.message == "Invalid JSON: empty input")
        #expect(TestSupport.error("  \n")?.message == "Invalid JSON: empty input")
        #expect(TestSupport.error("[]")?.reason == .invalidEvent)
    }

    @Test func deepNestingIsRejectedWithoutRecursion() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = TestSupport.error(#"{"type":"track","properties":\#(deep)}"#)
        #expect(error?.message == "JSON nested deeper than 512 levels")
        #expect(error?.reason == .invalidJSON)
        let deepObjects = String(repeating: #"{"a":"#, count: 10_000)
        #expect(TestSupport.error(deepObjects)?.message == "JSON nested deeper than 512 levels")
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        // Root object is level 1; properties' 511 arrays make 512 levels.
        let arrays = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        let body = try TestSupport.body(#"{"type":"track","event":"E","userId":"u","timestamp":"T","properties":\#(arrays)}"#)
        #expect(body["properties"] != nil)
        let tooDeep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(TestSupport.error(#"{"type":"track","properties":\#(tooDeep)}"#)?.message == "JSON nested deeper than 512 levels")
    }

    @Test func veryLongStringWorks() throws {
        let long = String(repeating: "abcdefghij", count: 90_000)  // 900 KB
        let request = try TestSupport.request(#"{"type":"track","event":"E","userId":"u","timestamp":"T","properties":{"s":"\#(long)"}}"#)
        #expect(request.body.count > 900_000)
        let body = try TestSupport.parseObject(request.body)
        #expect((body["properties"] as? [String: Any])?["s"] as? String == long)
    }

    @Test func invalidUTF8IsRejected() {
        let prefix = Array(#"{"type":"track","event":""#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
            let input = prefix + bad + Array(#"","userId":"u","timestamp":"T"}"#.utf8)
            let error = TestSupport.error(input)
            #expect(error?.message == "Invalid UTF-8 at byte \(prefix.count)", "\(bad)")
            #expect(error?.reason == .invalidJSON)
        }
        #expect(TestSupport.error([0x7B, 0xFF, 0x7D])?.reason == .invalidJSON)
    }

    @Test func overMaxEventBytesIsRejected() {
        let small = JuneTransformer(maxEventBytes: 100)
        let input = Array(
            #"{"type":"track","event":"E","userId":"u","timestamp":"T","properties":{"s":"\#(String(repeating: "x", count: 200))"}}"#.utf8)
        guard case .failure(let error) = small.transform(input) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.reason == .invalidEvent)
        #expect(error.message == "Event is \(input.count) bytes, above the limit of 100 (--max-event-bytes)")
        let big = [UInt8](repeating: 0x20, count: 2_000_000)
        #expect(TestSupport.error(big)?.message == "Event is 2000000 bytes, above the limit of 1048576 (--max-event-bytes)")
        #expect(JuneTransformer.defaultMaxEventBytes == 1_048_576)
    }

    @Test func loneSurrogateEscapesAreAcceptedLikeJavaScript() throws {
        let request = try TestSupport.request(#"{"type":"track","event":"\ud800","userId":"\udc00x","timestamp":"T"}"#)
        #expect(TestSupport.text(request.body).contains(#""event":"\ud800""#))
        #expect(request.orderingKey == "\u{FFFD}x")
    }

    @Test func sliceAndRawBufferOverloadsAgree() throws {
        let line = Array(#"xx{"type":"page","properties":{}}yy"#.utf8)
        let slice = line[2..<(line.count - 2)]
        let fromSlice = try TestSupport.transformer.transform(slice).get()
        let fromRaw = try Array(slice).withUnsafeBytes { try TestSupport.transformer.transform($0).get() }
        #expect(fromSlice == fromRaw)
        #expect(TestSupport.text(fromSlice.body) == #"{"properties":{}}"#)
    }
}
