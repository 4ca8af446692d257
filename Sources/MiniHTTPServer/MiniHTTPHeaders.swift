/// An ordered list of HTTP header fields with case-insensitive lookup.
///
/// A plain value so that users of `MiniHTTPServer` need not import NIO.
public struct MiniHTTPHeaders: Sendable, Equatable {
    public private(set) var fields: [(name: String, value: String)]

    public init() {
        self.fields = []
    }

    public init(_ fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    /// Appends a field (does not replace existing fields with the same name).
    public mutating func add(name: String, value: String) {
        self.fields.append((name, value))
    }

    /// Replaces every field named `name` with a single one.
    public mutating func replaceOrAdd(name: String, value: String) {
        self.fields.removeAll { $0.name.utf8.elementsEqualCaseInsensitive(name.utf8) }
        self.fields.append((name, value))
    }

    /// The first value of the field named `name` (case-insensitive), if any.
    public func first(name: String) -> String? {
        for field in self.fields where field.name.utf8.elementsEqualCaseInsensitive(name.utf8) {
            return field.value
        }
        return nil
    }

    /// Every value of the field named `name` (case-insensitive), in order.
    public func values(name: String) -> [String] {
        self.fields.filter { $0.name.utf8.elementsEqualCaseInsensitive(name.utf8) }.map(\.value)
    }

    public subscript(name: String) -> String? {
        self.first(name: name)
    }

    public var count: Int { self.fields.count }

    public static func == (lhs: MiniHTTPHeaders, rhs: MiniHTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

// MARK: - MiniHTTPHeaders + ExpressibleByDictionaryLiteral

extension MiniHTTPHeaders: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { (name: $0.0, value: $0.1) }
    }
}

extension String.UTF8View {
    /// ASCII case-insensitive comparison (header names are ASCII tokens).
    func elementsEqualCaseInsensitive(_ other: String.UTF8View) -> Bool {
        guard self.count == other.count else { return false }
        return zip(self, other).allSatisfy { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
        }
    }
}
