/// One Kafka record header. Keys may repeat within a record; order is preserved.
public struct KafkaHeader: Hashable, Sendable {
    /// The header key.
    public var key: String
    /// The header value; `nil` is a header with a null value (distinct from an empty value).
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    /// A header whose value is the UTF-8 bytes of `string`.
    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }
}
