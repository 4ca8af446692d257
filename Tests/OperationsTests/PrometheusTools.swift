import Foundation
import Testing
import Yams
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Debian's `promtool` and `prometheus` (package `prometheus`, installed by `make deps`), the rule file
/// inside deploy/prometheus-rules.yaml, and small HTTP and port helpers for the tests that use them.
enum PrometheusTools {
    /// An executable on `PATH`, or a failed requirement naming the package to install.
    static func require(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw ChildProcessError("\(name) not found on PATH: run `make deps` (Debian package prometheus)")
    }

    /// The PrometheusRule object of deploy/prometheus-rules.yaml.
    static func prometheusRule() throws -> [String: Any] {
        let documents = try DeployFilesTests.documents("deploy/prometheus-rules.yaml")
        return try #require(documents.first { $0["kind"] as? String == "PrometheusRule" }, "no PrometheusRule in deploy/prometheus-rules.yaml")
    }

    /// `spec.groups[].rules[]` of the PrometheusRule.
    static func rules() throws -> [[String: Any]] {
        let spec = try #require(prometheusRule()["spec"] as? [String: Any])
        let groups = try #require(spec["groups"] as? [[String: Any]])
        return groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }

    /// A fresh temporary directory holding `june-relay.rules.yaml` (the PrometheusRule's `spec`, which is
    /// exactly a Prometheus rule file) and a copy of deploy/tests/prometheus-rules.test.yaml, which names
    /// that rule file.
    static func ruleFilesDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let spec = try #require(prometheusRule()["spec"] as? [String: Any])
        // JSON is YAML: the rule file keeps exactly the values Yams read (strings stay strings).
        let json = try JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try json.write(to: directory.appendingPathComponent("june-relay.rules.yaml"))
        try Data(RepositoryFiles.text("deploy/tests/prometheus-rules.test.yaml").utf8)
            .write(to: directory.appendingPathComponent("prometheus-rules.test.yaml"))
        return directory
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        try Harness.freePort()
    }

    /// GET `url`: (status, body), or `nil` when nothing answered.
    static func get(_ url: String) async -> (status: Int, body: Data)? {
        guard let url = URL(string: url), let (data, response) = try? await URLSession.shared.data(from: url) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}

/// Metric names in PromQL expressions, and the names a `/metrics` exposition exports.
enum PromQLNames {
    /// PromQL keywords and operators that look like identifiers.
    static let keywords: Set<String> = [
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
        "offset", "inf", "nan", "atan2",
    ]

    /// Every metric name an expression selects: identifiers that are neither functions (followed by
    /// `(`), keywords, label names (inside `{…}` or a `by (…)`-style clause), durations (inside `[…]`),
    /// numbers nor Grafana variables.
    static func metricNames(in expression: String) -> Set<String> {
        var text = expression
        for (pattern, replacement) in [
            (#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`"#, "\"\""),  // string literals
            (#"\{[^}]*\}"#, "{}"),  // label matchers
            (#"\[[^\]]*\]"#, "[]"),  // ranges and subqueries
            (#"\b(by|without)\s*\([^)]*\)\s*(?=\()"#, ""),  // `sum by (a) (x)` → `sum (x)`
            (#"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#, "$1"),  // other label lists
        ] {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        let token = try! NSRegularExpression(pattern: #"\$\{?[A-Za-z0-9_]+\}?|[0-9][0-9A-Za-z_.+-]*|[A-Za-z_:][A-Za-z0-9_:]*"#)
        var names: Set<String> = []
        let characters = text as NSString
        for match in token.matches(in: text, range: NSRange(location: 0, length: characters.length)) {
            let word = characters.substring(with: match.range)
            guard let first = word.unicodeScalars.first, first == "_" || first == ":" || CharacterSet.letters.contains(first) else { continue }
            guard !keywords.contains(word) else { continue }
            let rest = characters.substring(from: match.range.location + match.range.length)
            if rest.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" }).first == "(" { continue }
            names.insert(word)
        }
        return names
    }

    /// The names in a Prometheus text exposition: `# TYPE` families and every sample's name (so a
    /// histogram contributes `name`, `name_bucket`, `name_sum` and `name_count`).
    static func exported(byExposition text: String) -> Set<String> {
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                if let name = line.dropFirst("# TYPE ".count).split(separator: " ").first { names.insert(String(name)) }
            } else if !line.hasPrefix("#") {
                let name = line.prefix { $0 != "{" && $0 != " " }
                if !name.isEmpty { names.insert(String(name)) }
            }
        }
        return names
    }
}
