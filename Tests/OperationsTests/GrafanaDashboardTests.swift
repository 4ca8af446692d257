import Foundation
import Testing

/// deploy/grafana-dashboard.json: valid JSON Grafana can import, the panels operators need, and only
/// metric names the relay really exports (read from the `/metrics` of an end-to-end run, not a list).
@Suite struct GrafanaDashboardTests {
    static func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: RepositoryFiles.url("deploy/grafana-dashboard.json"))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any], "the dashboard is not a JSON object")
    }

    /// Panels (rows' nested panels included) that have queries.
    static func panels() throws -> [[String: Any]] {
        let top = try dashboard()["panels"] as? [[String: Any]] ?? []
        return (top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }).filter { $0["targets"] != nil }
    }

    /// (panel title, expression) for every query.
    static func expressions() throws -> [(title: String, expr: String)] {
        try panels().flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).compactMap { target in
                (target["expr"] as? String).map { (panel["title"] as? String ?? "?", $0) }
            }
        }
    }

    @Test func isAnImportableDashboard() throws {
        let dashboard = try Self.dashboard()
        #expect(dashboard["title"] as? String == "june-relay")
        #expect(dashboard["uid"] as? String == "june-relay")
        #expect((dashboard["schemaVersion"] as? Int ?? 0) >= 30)
        let variables = ((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]]) ?? []
        #expect(
            variables.contains {
                $0["name"] as? String == "datasource" && $0["type"] as? String == "datasource" && $0["query"] as? String == "prometheus"
            })
        let all = (dashboard["panels"] as? [[String: Any]]) ?? []
        let ids = all.compactMap { $0["id"] as? Int }
        #expect(ids.count == all.count && Set(ids).count == ids.count, "every panel has a unique id")
        for panel in all {
            let grid = panel["gridPos"] as? [String: Int] ?? [:]
            #expect((grid["x"] ?? -1) >= 0 && (grid["x"] ?? 0) + (grid["w"] ?? 99) <= 24, "\(panel["title"] ?? "?"): gridPos \(grid)")
        }
        for panel in try Self.panels() {
            let uid = (panel["datasource"] as? [String: Any])?["uid"] as? String
            #expect(uid == "${datasource}", "\(panel["title"] ?? "?") uses the datasource variable")
            #expect(!(panel["targets"] as? [[String: Any]] ?? []).isEmpty)
        }
    }

    /// deploy/kustomization.yaml ships the dashboard as a ConfigMap for Grafana's dashboard sidecar.
    @Test func kustomizationGeneratesTheDashboardConfigMap() throws {
        let kustomization = try #require(DeployFilesTests.documents("deploy/kustomization.yaml").first)
        let generators = kustomization["configMapGenerator"] as? [[String: Any]] ?? []
        let dashboard = try #require(generators.first { ($0["files"] as? [String])?.contains("grafana-dashboard.json") == true })
        let labels = (dashboard["options"] as? [String: Any])?["labels"] as? [String: String]
        #expect(labels?["grafana_dashboard"] == "1")
    }

    /// The views the operations guide promises, each recognised by its query.
    @Test(arguments: [
        ("throughput by type", #"sum by \(type\) \(rate\(relay_records_delivered_total"#),
        ("June latency quantiles", #"histogram_quantile\(0\.99, sum by \(le[^)]*\) \(rate\(relay_june_request_duration_seconds_bucket"#),
        ("lag per partition", #"by \(topic, partition\) \(relay_consumer_lag"#),
        ("dead letters by reason", #"sum by \(reason\) \(rate\(relay_records_dead_lettered_total"#),
        ("in flight", #"relay_inflight_requests"#),
        ("buffered records", #"relay_buffered_records"#),
        ("buffered bytes", #"relay_buffered_bytes"#),
        ("outage state", #"relay_june_outage"#),
        ("refused state", #"by \(status\) \(relay_june_refused"#),
        ("rebalances", #"by \(kind\) \(increase\(relay_rebalances_total"#),
    ])
    func hasPanel(view: String, pattern: String) throws {
        let expressions = try Self.expressions()
        #expect(expressions.contains { $0.expr.range(of: pattern, options: .regularExpression) != nil }, "no panel for \(view) (/\(pattern)/)")
    }

    /// Every metric name in every expression appears in the relay's real `/metrics` output. Names the
    /// relay does not export are listed exactly.
    @Test(.timeLimit(.minutes(5)))
    func usesOnlyMetricsTheRelayExports() async throws {
        let expressions = try Self.expressions()
        let used = expressions.reduce(into: Set<String>()) { $0.formUnion(PromQLNames.metricNames(in: $1.expr)) }
        #expect(used.count >= 15, "names read from the dashboard: \(used.sorted())")
        let exported = PromQLNames.exported(byExposition: try await RelayMetricsRun.shared().metricsText)
        let missing = used.subtracting(exported)
        let panels = missing.sorted().map { name in
            "\(name) (\(Set(expressions.filter { PromQLNames.metricNames(in: $0.expr).contains(name) }.map(\.title)).sorted().joined(separator: ", ")))"
        }
        #expect(missing.isEmpty, "the dashboard uses metrics the relay does not export: \(panels.joined(separator: "; "))")
    }
}
