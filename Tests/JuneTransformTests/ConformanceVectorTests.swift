import Foundation
import JuneTransform
import Testing

/// The RudderStack June processor vectors from `../shared/conformance/rudderstack-june/` (or
/// `$JUNE_RELAY_SHARED_DIR/conformance/rudderstack-june/`), read at test time.
///
/// The vectors are not part of this repository: a clone on its own has no `../shared`, so the suite is
/// skipped (reported as skipped, with where to put them) instead of failing; when they are there it runs.
@Suite(.enabled(if: TestSupport.vectorsAreAvailable, TestSupport.vectorsMissingComment))
struct ConformanceVectorTests {
    @Test func allElevenVectorsAreFound() {
        #expect(TestSupport.vectorFileNames.count == 11, "looked in \(TestSupport.vectorsDirectory.path)")
    }

    @Test(arguments: TestSupport.vectorFileNames)
    func vectorPasses(_ fileName: String) throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent(fileName)
        let vector = try TestSupport.parseObject(Array(try Data(contentsOf: url)))
        let input = try #require(vector["input"])
        let expected = try #require(vector["expected"] as? [String: Any])
        let apiKey = (vector["destinationConfig"] as? [String: Any])?["apiKey"] as? String
        let inputBytes = Array(try JSONSerialization.data(withJSONObject: input))

        let result = TestSupport.transformer.transform(inputBytes)
        let kind = try #require(expected["kind"] as? String)

        // The rendered `transform` line must match too (url, headers, body).
        let line = TransformLineRenderer(writeKey: apiKey).render(result)
        let rendered = try TestSupport.parseObject(line)

        switch (kind, result) {
        case ("request", .success(let request)):
            let endpoint = try #require(expected["endpoint"] as? String)
            #expect("https://api.june.so" + request.path == endpoint)
            let body = try TestSupport.parseObject(request.body)
            let expectedBody = try #require(expected["body"])
            #expect(TestSupport.jsonEqual(body, expectedBody), "body \(TestSupport.text(request.body))")

            let renderedRequest = try #require(rendered["request"] as? [String: Any])
            #expect(renderedRequest["method"] as? String == expected["method"] as? String)
            #expect(renderedRequest["url"] as? String == endpoint)
            #expect(TestSupport.jsonEqual(renderedRequest["headers"] ?? [:], expected["headers"] ?? [:]))
            #expect(TestSupport.jsonEqual(renderedRequest["body"] ?? [:], expectedBody))
        case ("error", .failure(let error)):
            #expect(error.statusCode == expected["statusCode"] as? Int)
            #expect(error.message == expected["message"] as? String)
            #expect(error.reason == .invalidEvent)
            let renderedError = try #require(rendered["error"] as? [String: Any])
            #expect(renderedError["statusCode"] as? Int == 400)
            #expect(renderedError["message"] as? String == expected["message"] as? String)
        default:
            Issue.record("expected \(kind), got \(result)")
        }
    }
}
