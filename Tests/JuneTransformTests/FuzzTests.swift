import Foundation
import JuneTransform
import TestSupport
import Testing

/// Random bytes and mutations of valid events: never crash, always a result, and every success
/// produces a body that Foundation parses as a JSON object.
@Suite struct FuzzTests {
    static let seeds: [[UInt8]] = [
        #"{"type":"track","event":"Product Reviewed","userId":"5136633649","anonymousId":"a-1","properties":{"rating":3,"groupId":"g","n":9007199254740993,"f":-1.5e-7,"s":"caf\u00e9 😀","arr":[true,false,null,{}]},"context":{"ip":"1.2.3.4","page":{"url":"x"},"traits":{"id":"t"},"externalId":[{"type":"juneGroupId","id":"91Yb"}]},"originalTimestamp":"2022-01-20T13:39:21.032Z"}"#,
        #"{"type":"identify","traits":{"userId":7,"name":"N"},"context":{"traits":{"email":"e@x"},"sessionId":1},"timestamp":"T"}"#,
        #"{"type":"group","groupId":"G","traits":{"groupId":"x","employees":500},"context":{"library":{"name":"js"}},"timestamp":"T"}"#,
        #"{"type":"page","anonymousId":"an","properties":{"path":"/","groupId":"pg"},"traits":{"groupId":"tg"},"context":{"locale":"en"}}"#,
    ].map { Array($0.utf8) }

    private func check(_ input: [UInt8]) throws {
        switch TestSupport.transformer.transform(input) {
        case .success(let request):
            #expect(parsesAsObject(request.body), "input: \(TestSupport.text(input))")
            #expect(["/api/identify", "/api/track", "/api/group", "/api/page"].contains(request.path))
        case .failure(let error):
            #expect(error.statusCode == 400)
            #expect(!error.message.isEmpty)
        }
        // The rendered line must always be a JSON object too.
        let line = TransformLineRenderer(writeKey: "k").render(TestSupport.transformer.transform(input))
        #expect(parsesAsObject(line), "line: \(TestSupport.text(line))")
    }

    /// Whether Foundation parses `bytes` as a JSON object. Foundation rejects valid JSON numbers
    /// outside Double's range (e.g. `1E740993`); JSON allows them and the relay forwards them
    /// verbatim, so that one refusal counts as parsed. Any other failure is a bug.
    private func parsesAsObject(_ bytes: [UInt8]) -> Bool {
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes)) is [String: Any]
        } catch {
            return "\(error)".contains("is not representable in Swift")
        }
    }

    @Test func seedsAreValidEvents() throws {
        for seed in Self.seeds {
            #expect((try? TestSupport.transformer.transform(seed).get()) != nil, "\(TestSupport.text(seed))")
        }
    }

    @Test func mutatedEventsNeverCrash() throws {
        var rng = SplitMix(seed: 0x6A75_6E65)
        let interesting = Array(#"{}[]",:\u0123456789eE+-.tfn "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE2, 0xF0, 0xFF]
        var successes = 0
        for round in 0..<4_000 {
            var bytes = Self.seeds[round % Self.seeds.count]
            let mutations = Int.random(in: 1...4, using: &rng)
            for _ in 0..<mutations where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)  // bit flip
                case 1: bytes.removeSubrange(at...)  // truncation
                case 2: bytes.insert(interesting.randomElement(using: &rng)!, at: at)  // insertion
                case 3: bytes.remove(at: at)  // deletion
                default: bytes[at] = interesting.randomElement(using: &rng)!  // replacement
                }
            }
            try check(bytes)
            if case .success = TestSupport.transformer.transform(bytes) { successes += 1 }
        }
        // Some mutations (inside string values) keep the event valid; most do not.
        #expect(successes > 0)
    }

    @Test func randomBytesNeverCrash() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<3_000 {
            let count = Int.random(in: 0..<64, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try check(bytes)
        }
        // Random JSON-ish token soup reaches deeper into the scanner.
        let tokens = [#"{"#, #"}"#, #"["#, #"]"#, #","#, #":"#, #""a""#, #""type""#, #""track""#, "1", "-0.5e3", "true", "null", " "]
        for _ in 0..<3_000 {
            let count = Int.random(in: 0..<40, using: &rng)
            let text = (0..<count).map { _ in tokens.randomElement(using: &rng)! }.joined()
            try check(Array(text.utf8))
        }
    }
}
