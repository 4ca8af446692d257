/// `--kafka-config KEY=VALUE` entries (repeatable), shared by `run` and the operator tools.
enum KafkaConfigEntries {
    struct Invalid: Error, CustomStringConvertible {
        var entry: String
        var description: String { "--kafka-config expects KEY=VALUE, got \"\(entry)\"" }
    }

    /// The entries as librdkafka properties (a later entry for the same key wins). librdkafka itself
    /// validates the keys when the client is created.
    static func parse(_ entries: [String]) throws(Invalid) -> [String: String] {
        var properties: [String: String] = [:]
        for entry in entries {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else { throw Invalid(entry: entry) }
            properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return properties
    }
}
