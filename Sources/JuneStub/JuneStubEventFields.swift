import JuneTransform

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
    /// Uses JuneTransform's validating single-pass reader, so the per-request cost stays low (the stub
    /// shares the machine with the relay in benchmarks).
    static func parse(_ body: [UInt8]) -> JuneStubEventFields? {
        guard let fields = try? JSONFieldReader.topLevelFields(body) else { return nil }
        let userId = fields["userId"].flatMap(Self.identifier)
        let seq = fields["properties"]?["seq"]?.int ?? fields["traits"]?["seq"]?.int ?? fields["context"]?["seq"]?.int
        return JuneStubEventFields(
            user: userId ?? fields["anonymousId"].flatMap(Self.identifier),
            seq: seq,
            event: fields["event"]?.string,
            userId: userId
        )
    }

    /// A string's text or a number's JSON text; nil for other kinds and for "".
    private static func identifier(_ value: JSONRawValue) -> String? {
        guard value.kind == .string || value.kind == .number, let text = value.scalarText, !text.isEmpty else { return nil }
        return text
    }
}
