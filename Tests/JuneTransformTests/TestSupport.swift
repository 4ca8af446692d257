import Foundation
import JuneTransform
import Testing

/// Shared helpers for the JuneTransform tests.
enum TestSupport {
    static let transformer = JuneTransformer()

    /// `$JUNE_RELAY_SHARED_DIR/conformance/rudderstack-june` when that variable is set, else
    /// `<repo>/../shared/conformance/rudderstack-june`, resolved from this file (3 levels below the repo root).
    static let vectorsDirectory: URL = {
        if let shared = ProcessInfo.processInfo.environment["JUNE_RELAY_SHARED_DIR"], !shared.isEmpty {
            return URL(fileURLWithPath: shared).appendingPathComponent("conformance/rudderstack-june")
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // JuneTransformTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // <repo>
            .deletingLastPathComponent()  // parent of the repo
            .appendingPathComponent("shared/conformance/rudderstack-june")
    }()

    /// Whether the vectors directory exists (it is provided beside the repository, not in it).
    static var vectorsAreAvailable: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: vectorsDirectory.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Why the vector tests are skipped, and how to run them.
    static var vectorsMissingComment: Comment {
        Comment(
            rawValue: """
                RudderStack conformance vectors not found at \(vectorsDirectory.path): put the \
                conformance/rudderstack-june folder of the shared test data in ../shared beside the repository, \
                or set JUNE_RELAY_SHARED_DIR to the folder that holds conformance/rudderstack-june
                """
        )
    }

    static var vectorFileNames: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: vectorsDirectory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func transform(_ json: String) -> Result<JuneRequest, TransformError> {
        transformer.transform(Array(json.utf8))
    }

    /// Transforms and expects success; returns the request.
    static func request(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JuneRequest {
        switch transform(json) {
        case .success(let request): return request
        case .failure(let error):
            Issue.record("expected a request, got \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// Transforms and expects success; returns the body parsed with JSONSerialization.
    static func body(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let request = try request(json, sourceLocation: sourceLocation)
        return try parseObject(request.body)
    }

    /// Transforms and expects failure; returns the error.
    static func error(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> TransformError? {
        error(Array(json.utf8), sourceLocation: sourceLocation)
    }

    static func error(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> TransformError? {
        switch transformer.transform(bytes) {
        case .success(let request):
            Issue.record(
                "expected an error, got \(String(decoding: request.body, as: UTF8.self))",
                sourceLocation: sourceLocation
            )
            return nil
        case .failure(let error):
            return error
        }
    }

    static func parseObject(_ bytes: [UInt8]) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        guard let dictionary = object as? [String: Any] else {
            throw TestFailure("not a JSON object: \(String(decoding: bytes, as: UTF8.self))")
        }
        return dictionary
    }

    static func parseObject(_ string: String) throws -> [String: Any] {
        try parseObject(Array(string.utf8))
    }

    /// Structural JSON equality (dictionary key order ignored).
    static func jsonEqual(_ a: Any, _ b: Any) -> Bool {
        NSDictionary(dictionary: ["v": a]).isEqual(NSDictionary(dictionary: ["v": b]))
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
