import Foundation
import Testing
import Yams

/// deploy/prometheus-rules.yaml checked by Debian's promtool: the rules load (`check rules`), every alert
/// fires on a failing series and stays silent on a healthy one (`test rules` with
/// deploy/tests/prometheus-rules.test.yaml), and each alert carries what on-call needs.
@Suite struct PrometheusRulesTests {
    static func alerts() throws -> [[String: Any]] {
        try PrometheusTools.rules().filter { $0["alert"] != nil }
    }

    /// `promtool <command> <file>`, `file` in a fresh copy of the rule files (removed afterwards).
    static func promtool(_ command: [String], _ file: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        let promtool = try PrometheusTools.require("promtool")
        let directory = try PrometheusTools.ruleFilesDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await ChildProcess.run(promtool, command + [directory.appendingPathComponent(file).path])
    }

    @Test func promtoolChecksTheRuleFile() async throws {
        let result = try await Self.promtool(["check", "rules"], "june-relay.rules.yaml")
        #expect(result.status == 0, "promtool check rules:\n\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: \(try Self.alerts().count) rules found"), "\(result.stdout)")
    }

    @Test func promtoolUnitTestsPass() async throws {
        let result = try await Self.promtool(["test", "rules"], "prometheus-rules.test.yaml")
        #expect(result.status == 0, "promtool test rules:\n\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"), "\(result.stdout)")
    }

    /// Every alert has a unit test where it fires (non-empty `exp_alerts`) and one where it stays silent
    /// (empty `exp_alerts`), and the unit tests name no alert the rules do not have.
    @Test func everyAlertHasAFiringAndASilentCase() throws {
        let names = Set(try Self.alerts().compactMap { $0["alert"] as? String })
        #expect(names.count >= 10)
        let unitTests = try #require(Yams.load(yaml: RepositoryFiles.text("deploy/tests/prometheus-rules.test.yaml")) as? [String: Any])
        #expect(unitTests["rule_files"] as? [String] == ["june-relay.rules.yaml"])
        var firing: Set<String> = []
        var silent: Set<String> = []
        for test in unitTests["tests"] as? [[String: Any]] ?? [] {
            for check in test["alert_rule_test"] as? [[String: Any]] ?? [] {
                guard let name = check["alertname"] as? String else { continue }
                if (check["exp_alerts"] as? [Any])?.isEmpty == false { firing.insert(name) } else { silent.insert(name) }
            }
        }
        #expect(names.subtracting(firing).isEmpty, "alerts without a firing case: \(names.subtracting(firing).sorted())")
        #expect(names.subtracting(silent).isEmpty, "alerts without a silent case: \(names.subtracting(silent).sorted())")
        #expect(firing.union(silent).subtracting(names).isEmpty, "unit tests for unknown alerts: \(firing.union(silent).subtracting(names).sorted())")
    }

    /// The alerts the operations guide promises, by the metric each one watches.
    @Test func alertsCoverWhatOnCallNeeds() throws {
        let expressions = try Self.alerts().map { ($0["alert"] as? String ?? "?", $0["expr"] as? String ?? "") }
        for metric in [
            "relay_consumer_lag", "relay_records_delivered_total", "relay_june_outage", "relay_june_refused",
            "relay_records_dead_lettered_total", "relay_dead_letter_values_omitted_total", "relay_commit_failures_total",
            "relay_assigned_partitions", "relay_oldest_pending_seconds", "up",
        ] {
            #expect(expressions.contains { PromQLNames.metricNames(in: $0.1).contains(metric) }, "no alert watches \(metric)")
        }
        let deadLettering = try #require(expressions.first { $0.1.contains("relay_records_dead_lettered_total") })
        #expect(deadLettering.1.contains("by (job, reason)"), "dead-letter alert is per reason: \(deadLettering.1)")
        let oldest = try #require(expressions.first { $0.1.contains("relay_oldest_pending_seconds") })
        #expect(oldest.1.range(of: #"> 900(\s|$)"#, options: .regularExpression) != nil, "15 minutes: \(oldest.1)")
    }

    /// Each alert has a severity, a summary, a description and a runbook link to a heading that exists
    /// in docs/operations.md.
    @Test func everyAlertHasAnnotationsAndARunbook() throws {
        let anchors = try Self.headingAnchors(RepositoryFiles.text("docs/operations.md"))
        for alert in try Self.alerts() {
            let name = alert["alert"] as? String ?? "?"
            let labels = alert["labels"] as? [String: Any] ?? [:]
            #expect(["critical", "warning"].contains(labels["severity"] as? String ?? ""), "\(name): severity")
            let annotations = alert["annotations"] as? [String: String] ?? [:]
            #expect(!(annotations["summary"] ?? "").isEmpty, "\(name): summary")
            #expect(!(annotations["description"] ?? "").isEmpty, "\(name): description")
            let runbook = annotations["runbook_url"] ?? ""
            let parts = runbook.components(separatedBy: "/docs/operations.md#")
            #expect(parts.count == 2 && parts[0].hasPrefix("https://"), "\(name): runbook_url \(runbook)")
            if parts.count == 2 {
                #expect(anchors.contains(parts[1]), "\(name): docs/operations.md has no heading with anchor #\(parts[1])")
            }
        }
    }

    @Test func kustomizationAppliesTheRules() throws {
        let kustomization = try #require(DeployFilesTests.documents("deploy/kustomization.yaml").first)
        #expect((kustomization["resources"] as? [String])?.contains("prometheus-rules.yaml") == true)
        let rule = try PrometheusTools.prometheusRule()
        #expect(rule["apiVersion"] as? String == "monitoring.coreos.com/v1")
        let labels = (rule["metadata"] as? [String: Any])?["labels"] as? [String: String]
        #expect(labels?["app.kubernetes.io/name"] == "june-relay")
    }

    @Test func metricNamesAreReadFromExpressions() {
        #expect(PromQLNames.metricNames(in: #"sum by (job, reason) (rate(relay_x_total{job=~"$job",reason!="a b"}[5m])) > 0.1"#) == ["relay_x_total"])
        #expect(
            PromQLNames.metricNames(in: "histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval]))) and on (job) up == 1") == [
                "h_bucket", "up",
            ])
        #expect(PromQLNames.metricNames(in: "a offset 5m / ignoring(x) group_left b") == ["a", "b"])
    }

    /// GitHub's heading anchors: lower case, punctuation other than `-` and `_` removed, spaces → `-`.
    static func headingAnchors(_ markdown: String) -> Set<String> {
        var anchors: Set<String> = []
        var inFence = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle() }
            guard !inFence, line.hasPrefix("#") else { continue }
            let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
            let kept = title.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" || $0 == " " }
            anchors.insert(String(String.UnicodeScalarView(kept)).replacingOccurrences(of: " ", with: "-"))
        }
        return anchors
    }
}
