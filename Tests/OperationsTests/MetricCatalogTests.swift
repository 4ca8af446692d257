import Foundation
import Pipeline
import Testing

/// README's metric table, the Grafana dashboard, the alert rules and the docs against
/// ``RelayMetricCatalog``, the one list of what the relay exports.
@Suite struct MetricCatalogTests {
    /// One row of README's "Metrics" table.
    struct Row: Equatable, CustomStringConvertible {
        var name: String
        var type: String
        var labels: [String]
        var description: String { "\(name) \(type) \(labels)" }
    }

    /// The rows of the table under README's `### Metrics` heading.
    static func readmeRows() throws -> [Row] {
        let readme = try RepositoryFiles.text("README.md")
        let section = try #require(readme.range(of: "### Metrics"), "README has a Metrics section")
        let lines = readme[section.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
        return lines.drop { !$0.hasPrefix("| `relay_") }.prefix { $0.hasPrefix("|") }.map { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let labelCell = cells[3].replacingOccurrences(of: #"\([^)]*\)"#, with: "", options: .regularExpression)
            let labels = labelCell.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0 != "—" && !$0.isEmpty }
            return Row(name: cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`")), type: cells[2], labels: labels)
        }
    }

    /// Every `relay_…` name a file mentions; a histogram's series (`_bucket`, `_sum`, `_count`) count as
    /// the histogram, and a prefix ending in `_` (`relay_kafka_*`) is not a name.
    static func mentionedMetrics(_ path: String) throws -> Set<String> {
        let text = try RepositoryFiles.text(path)
        let regex = try NSRegularExpression(pattern: #"\brelay_[a-z0-9_]*[a-z0-9]\b"#)
        let names = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) }
        }
        return Set(
            names.map { name in
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                    let base = String(name.dropLast(suffix.count))
                    if RelayMetricCatalog.descriptor(named: base)?.kind == .histogram { return base }
                }
                return name
            })
    }

    @Test func theCatalogNamesEachMetricOnce() {
        let names = RelayMetricCatalog.all.map(\.name)
        #expect(Set(names).count == names.count)
        for metric in RelayMetricCatalog.all {
            #expect(metric.name.hasPrefix("relay_") && !metric.help.isEmpty, "\(metric.name)")
            #expect(metric.kind != .counter || metric.name.hasSuffix("_total"), "\(metric.name): a counter's name ends in _total")
        }
    }

    @Test func readmesTableIsTheCatalog() throws {
        let rows = try Self.readmeRows()
        #expect(rows.count > 20, "README's metric table was found")
        let catalog = RelayMetricCatalog.all.map { Row(name: $0.name, type: $0.kind.rawValue, labels: $0.labels) }
        #expect(rows.map(\.name) == catalog.map(\.name), "README lists the catalog's metrics, in its order")
        for row in rows {
            let entry = catalog.first { $0.name == row.name }
            #expect(entry == row, "README: \(row); catalog: \(entry.map(\.description) ?? "none")")
        }
    }

    @Test(arguments: [
        "README.md", "deploy/grafana-dashboard.json", "deploy/prometheus-rules.yaml", "docs/operations.md", "docs/design.md",
        "docs/performance.md",
    ])
    func everyMetricNamedExists(_ path: String) throws {
        let unknown = try Self.mentionedMetrics(path).filter { RelayMetricCatalog.descriptor(named: $0) == nil }
        #expect(unknown.isEmpty, "\(path) names metrics the relay does not export: \(unknown.sorted())")
    }
}
