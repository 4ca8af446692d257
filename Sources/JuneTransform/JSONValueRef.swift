/// The kind of a JSON value, known from its first byte.
enum JSONKind: UInt8, Sendable {
    case object, array, string, number, `true`, `false`, null

    /// The kind for the first byte of a *validated* value.
    @inline(__always)
    init(firstByte c: UInt8) {
        switch c {
        case UInt8(ascii: "{"): self = .object
        case UInt8(ascii: "["): self = .array
        case UInt8(ascii: "\""): self = .string
        case UInt8(ascii: "t"): self = .true
        case UInt8(ascii: "f"): self = .false
        case UInt8(ascii: "n"): self = .null
        default: self = .number
        }
    }
}

/// A value inside the input: the half-open byte range of its raw JSON text and its kind.
struct JSONValueRef: Sendable, Equatable {
    var start: Int
    var end: Int
    var kind: JSONKind

    /// RudderStack's "present": JavaScript truthiness except that `false` and `0` count. So only `null` and
    /// `""` fall through; `{}` and `[]` count as present.
    @inline(__always)
    var isPresent: Bool {
        switch kind {
        case .null: return false
        case .string: return end - start > 2
        default: return true
        }
    }

    var isObject: Bool { kind == .object }
}

/// An object key inside the input: the byte range between its quotes and whether it has escapes.
struct JSONKeyRef: Sendable, Equatable {
    var start: Int
    var end: Int
    var hasEscapes: Bool
}
