/// Turns one RudderStack event (raw JSON bytes) into a June tracking-API request, following
/// RudderStack's cloud-mode June destination (docs/design.md, "Transform"), or into a ``TransformError``.
///
/// It is a pure value: no I/O, no shared state, safe to use from any thread. The input is validated
/// completely (strict JSON, UTF-8, nesting depth) in one pass without Foundation; the body is built
/// by copying the raw bytes of the values it keeps, so values are preserved byte-for-byte.
public struct JuneTransformer: Sendable {
    /// The default largest event accepted: 1 MiB (1,048,576 bytes). RudderStack/June events are a
    /// few hundred bytes to a few KB; anything this large is almost certainly a producer bug and
    /// is dead-lettered with `invalid-event` instead of being posted. Set with `--max-event-bytes`.
    public static let defaultMaxEventBytes = 1_048_576

    /// Events larger than this many bytes are rejected.
    public var maxEventBytes: Int

    public init(maxEventBytes: Int = JuneTransformer.defaultMaxEventBytes) {
        self.maxEventBytes = maxEventBytes
    }

    /// Transforms one event.
    public func transform(_ bytes: [UInt8]) -> Result<JuneRequest, TransformError> {
        bytes.withUnsafeBufferPointer { transform($0) }
    }

    /// Transforms one event held in an array slice (e.g. one line of a larger buffer).
    public func transform(_ bytes: ArraySlice<UInt8>) -> Result<JuneRequest, TransformError> {
        bytes.withUnsafeBufferPointer { transform($0) }
    }

    /// Transforms one event from raw memory (e.g. a Kafka message payload); the bytes are only read
    /// during the call.
    public func transform(_ bytes: UnsafeRawBufferPointer) -> Result<JuneRequest, TransformError> {
        transform(bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// Transforms one event from raw memory; the bytes are only read during the call.
    public func transform(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JuneRequest, TransformError> {
        do {
            return .success(try transformOrThrow(bytes))
        } catch {
            return .failure(error)
        }
    }

    private func transformOrThrow(_ bytes: UnsafeBufferPointer<UInt8>) throws(TransformError) -> JuneRequest {
        guard bytes.count <= maxEventBytes else {
            throw .invalidEvent(
                "Event is \(bytes.count) bytes, above the limit of \(maxEventBytes) (--max-event-bytes)"
            )
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw .invalidJSON("Invalid JSON: empty input")
        }
        var fields = EventFields(base)
        let rootKind = try JSONValidator.validate(bytes, sink: &fields)
        guard rootKind == .object else {
            throw .invalidEvent("Event must be a JSON object, not \(rootKind.article)")
        }
        let json = ValidatedJSON(bytes)
        let type = try Self.eventType(fields.type, json)
        var builder = JuneBodyBuilder(json: json, fields: fields, capacity: bytes.count + 64)
        return try builder.build(type)
    }

    /// `type` is lower-cased; missing/empty → required; anything but the four → not supported.
    static func eventType(_ value: JSONValueRef?, _ json: ValidatedJSON) throws(TransformError) -> JuneEventType {
        guard let value, value.isPresent, value.kind != .false, !(value.kind == .number && json.isZero(value)) else {
            throw .typeRequired  // JavaScript `!message.type`
        }
        guard value.kind == .string else {
            let text = String(decoding: json.raw(value.start, min(value.end, value.start + 64)), as: UTF8.self)
            throw .unsupportedType(text)
        }
        // Fast path: ASCII without escapes, compared case-insensitively.
        let start = value.start + 1
        let end = value.end - 1
        var ascii = true
        for i in start..<end where json.p[i] >= 0x80 || json.p[i] == UInt8(ascii: "\\") {
            ascii = false
            break
        }
        if ascii {
            for candidate in JuneEventType.allCases where json.asciiCaseInsensitiveEquals(start, end, candidate) {
                return candidate
            }
        }
        // Slow path: full Unicode lower-casing, like JavaScript's toLowerCase().
        let lowered = (json.scalarText(value) ?? "").lowercased()
        if let type = JuneEventType(rawValue: lowered) { return type }
        throw .unsupportedType(lowered)
    }
}

// MARK: - Helpers

extension JSONKind {
    var article: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .true, .false: "a boolean"
        case .null: "null"
        }
    }
}

extension ValidatedJSON {
    /// Whether a number's value is zero (every mantissa digit is 0), like `-0`, `0.0` or `0e5`.
    func isZero(_ value: JSONValueRef) -> Bool {
        for i in value.start..<value.end {
            let c = p[i]
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") { break }
            if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") { return false }
        }
        return true
    }

    func asciiCaseInsensitiveEquals(_ start: Int, _ end: Int, _ type: JuneEventType) -> Bool {
        let name = type.staticName
        let w = name.utf8Start
        guard end - start == name.utf8CodeUnitCount else { return false }
        for k in 0..<(end - start) {
            var c = p[start + k]
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c |= 0x20 }
            if c != w[k] { return false }
        }
        return true
    }
}

extension JuneEventType {
    /// The raw value without creating a `String`.
    var staticName: StaticString {
        switch self {
        case .identify: "identify"
        case .track: "track"
        case .group: "group"
        case .page: "page"
        }
    }
}
