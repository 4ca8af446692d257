import Pipeline

/// `# HELP` lines for `/metrics`. swift-metrics has no help text and the Prometheus factory emits only
/// `# TYPE`, so the exposition is annotated here, with the help text of ``RelayMetricCatalog``. A metric
/// missing from the catalog has no `# HELP` line, which `promtool check metrics` reports: the operations
/// tests run it on the relay's real output, so a new metric cannot be forgotten.
enum MetricsHelp {
    /// Help text by metric name.
    static let catalog: [String: String] = Dictionary(uniqueKeysWithValues: RelayMetricCatalog.all.map { ($0.name, $0.help) })

    /// Inserts `# HELP name text` before each `# TYPE name …` line whose metric is in the catalog.
    static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        guard !exposition.isEmpty else { return exposition }
        let typePrefix = Array("# TYPE ".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(exposition.count + catalog.count * 80)
        var lines = exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if exposition.last == UInt8(ascii: "\n") { lines.removeLast() }
        for line in lines {
            if line.starts(with: typePrefix) {
                let name = String(decoding: line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let help = catalog[name] {
                    output += Array("# HELP \(name) \(help)\n".utf8)
                }
            }
            output += line
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }
}
