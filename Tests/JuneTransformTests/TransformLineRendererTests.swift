import Foundation
import JuneTransform
import Testing

@Suite struct TransformLineRendererTests {
    @Test func requestLineHasTheSpecShape() throws {
        let result = TestSupport.transform(#"{"type":"track","event":"E","userId":"u","timestamp":"T","properties":{"n":9007199254740993}}"#)
        let line = TransformLineRenderer(writeKey: "june1").render(result)
        let text = TestSupport.text(line)
        #expect(!text.contains("\n"))
        #expect(
            text.hasPrefix(
                #"{"request":{"method":"POST","url":"https://api.june.so/api/track","headers":{"Authorization":"Basic june1","Content-Type":"application/json"},"body":{"#
            ))
        #expect(text.contains(#""n":9007199254740993"#))
        let parsed = try TestSupport.parseObject(line)
        let request = try #require(parsed["request"] as? [String: Any])
        #expect((request["body"] as? [String: Any])?["userId"] as? String == "u")
    }

    @Test func authorizationIsLeftOutWithoutWriteKeyAndURLIsConfigurable() throws {
        let result = TestSupport.transform(#"{"type":"page","properties":{}}"#)
        let line = TransformLineRenderer(juneURL: "http://127.0.0.1:8080/", writeKey: nil).render(result)
        let request = try #require(try TestSupport.parseObject(line)["request"] as? [String: Any])
        #expect(request["url"] as? String == "http://127.0.0.1:8080/api/page")
        #expect(TestSupport.jsonEqual(request["headers"] ?? [:], ["Content-Type": "application/json"]))
    }

    @Test func errorLineEscapesTheMessage() throws {
        let result = TestSupport.transform("{\"type\":\"we\\\"ird\\n\\u0001\"}")
        let line = TransformLineRenderer(writeKey: "k").render(result)
        let error = try #require(try TestSupport.parseObject(line)["error"] as? [String: Any])
        #expect(error["statusCode"] as? Int == 400)
        #expect(error["message"] as? String == "Event type \"we\"ird\n\u{1}\" is not supported")
    }

    @Test func writeKeyIsJSONEscaped() throws {
        let line = TransformLineRenderer(writeKey: #"a"b\c"#).render(TestSupport.transform(#"{"type":"page","properties":{}}"#))
        let request = try #require(try TestSupport.parseObject(line)["request"] as? [String: Any])
        #expect((request["headers"] as? [String: Any])?["Authorization"] as? String == #"Basic a"b\c"#)
    }
}
