/// The few body fields the stub looks at.
struct JuneStubEventFields: Sendable, Equatable {
    /// `userId` (string, or the text of a number), else `anonymousId`.
    var user: String?
    /// Integer at `properties.seq`, else `traits.seq`, else `context.seq`.
    var seq: Int?
    /// The `event` field (track), for the `stub:reject` hook.
    var event: String?
    /// The `userId` alone, for the `stub-fail-` hook.
    var userId: String?

    /// Validates that `body` is one JSON object and pulls out the fields; nil when it is not a JSON object.
    ///
    /// Uses a small validating scanner that materialises only these fields, so the per-request cost stays low
    /// (the stub shares the machine with the relay in benchmarks). Could be replaced by JuneTransform's fast
    /// JSON field reader once that exists.
    static func parse(_ body: [UInt8]) -> JuneStubEventFields? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = JuneStubJSONScanner(bytes: buffer)
            return scanner.scanEvent()
        }
    }
}
