import Foundation
import JuneTransform
import Testing

/// Values are copied byte-for-byte: big integers, floats, unicode, escapes, nested values.
@Suite struct ValuePreservationTests {
    private func trackBody(properties: String) throws -> String {
        let request = try TestSupport.request(
            #"{"type":"track","event":"E","userId":"u","originalTimestamp":"T","properties":\#(properties)}"#
        )
        return TestSupport.text(request.body)
    }

    @Test(arguments: [
        "9007199254740993", "-9007199254740993", "123456789012345678901234567890",
        "1.5e300", "-0.0", "0.1", "1E-7", "-0",
    ])
    func numbersAreCopiedExactly(_ number: String) throws {
        let body = try trackBody(properties: #"{"n":\#(number)}"#)
        #expect(body.contains(#""properties":{"n":\#(number)}"#), "\(body)")
    }

    @Test func bigIntegerUserIdKeepsItsDigits() throws {
        let request = try TestSupport.request(#"{"type":"track","event":"E","userId":9007199254740993,"originalTimestamp":"T"}"#)
        #expect(TestSupport.text(request.body).contains(#""userId":9007199254740993"#))
        #expect(request.orderingKey == "9007199254740993")
    }

    @Test(arguments: [
        #""😀 emoji""#, #""\u00e9\u4e2d""#, #""\ud83d\ude00 pair""#, #""quote \" backslash \\ slash \/ \b\f\n\r\t""#,
        #""ünïcødé 中文""#,
    ])
    func stringsAreCopiedExactly(_ string: String) throws {
        let body = try trackBody(properties: #"{"s":\#(string)}"#)
        #expect(body.contains(#""properties":{"s":\#(string)}"#), "\(body)")
        _ = try TestSupport.parseObject(body)
    }

    @Test func nestedValuesBooleansAndNullsInsideObjectsAreKept() throws {
        let nested = #"{"a":[1,[2,[3,{"b":null}]],{"c":true,"d":false}],"e":{"f":{"g":[]}},"h":null}"#
        let body = try trackBody(properties: nested)
        #expect(body.contains(#""properties":\#(nested)"#), "\(body)")
    }

    @Test func whitespaceInsideValuesIsKept() throws {
        let body = try trackBody(properties: "{ \"a\" : [ 1 , 2 ] , \"groupId\" : \"g\" }")
        let parsed = try TestSupport.parseObject(body)
        #expect(TestSupport.jsonEqual(parsed["properties"] ?? [:], ["a": [1, 2]]))
        #expect(TestSupport.jsonEqual(parsed["context"] ?? [:], ["groupId": "g"]))
    }

    @Test func escapedKeysAreMatched() throws {
        let body = try TestSupport.body(#"{"\u0074ype":"track","ev\u0065nt":"E","user\u0049d":"u","originalTimestamp":"T"}"#)
        #expect(body["userId"] as? String == "u")
        #expect(body["event"] as? String == "E")
    }
}
