import Foundation
import Testing

/// The relay's real metrics (``RelayMetricsRun``: dev-broker, june-stub, relay and Debian's Prometheus
/// server as processes): Prometheus scrapes them with the manifests' settings and answers queries,
/// the deploy rules evaluate without errors on the real series, `promtool check metrics` accepts the
/// exposition, and the librdkafka statistics show up.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PrometheusScrapeTests {
    @Test func prometheusReadsTheDeliveredTotalBack() async throws {
        let run = try await RelayMetricsRun.shared()
        #expect(run.stubAccepted > RelayMetricsRun.events / 2, "the stub accepted \(run.stubAccepted) events")
        let delivered = try #require(run.prometheusDelivered, "Prometheus returned no relay_records_delivered_total")
        #expect(delivered > 0)
        #expect(delivered == Double(run.stubAccepted), "Prometheus says \(delivered) delivered, the stub accepted \(run.stubAccepted)")
        #expect(run.prometheusUp == 1, "up{job=\"june-relay\"} = \(String(describing: run.prometheusUp))")
        #expect(run.relayExitStatus == 0)
    }

    @Test func deployRulesEvaluateOnTheRealSeries() async throws {
        let run = try await RelayMetricsRun.shared()
        let alerts = Set(try PrometheusRulesTests.alerts().compactMap { $0["alert"] as? String })
        #expect(Set(run.ruleHealth.keys) == alerts, "rules Prometheus loaded: \(run.ruleHealth.keys.sorted())")
        let unhealthy = run.ruleHealth.filter { $0.value != "ok" }
        #expect(unhealthy.isEmpty, "rules not evaluating cleanly: \(unhealthy)")
    }

    /// `promtool check metrics`: parses the exposition and lints it (HELP text, counter suffixes, units).
    @Test func promtoolAcceptsTheRealExposition() async throws {
        let run = try await RelayMetricsRun.shared()
        let promtool = try PrometheusTools.require("promtool")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("relay-metrics-\(UUID().uuidString).prom")
        try Data(run.metricsText.utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let (status, output) = try Self.run(promtool, ["check", "metrics"], stdin: input)
        #expect(status == 0, "promtool check metrics found problems:\n\(output)")
        #expect(run.metricsText.contains("# HELP relay_records_delivered_total "))
    }

    @Test func librdkafkaStatisticsBecomeMetrics() async throws {
        let text = try await RelayMetricsRun.shared().metricsText
        #expect(RelayMetricsRun.sum(of: "relay_kafka_group_state", in: text) == 1, "the member is joined and steady")
        let rtt = text.split(separator: "\n").filter { $0.hasPrefix("relay_kafka_broker_rtt_seconds{broker=\"") }
        #expect(!rtt.isEmpty, "no broker round trip in:\n\(text)")
        #expect(rtt.allSatisfy { ($0.split(separator: " ").last.flatMap { Double($0) } ?? -1) > 0 }, "\(rtt)")
        #expect(!rtt.contains { $0.contains("GroupCoordinator") || $0.contains("bootstrap") }, "\(rtt)")
        #expect(text.contains("\nrelay_kafka_fetch_queue_messages "))
        #expect(text.contains("\nrelay_kafka_rebalance_age_seconds "))
    }

    /// Every metric the alert rules select is one the relay exports (or Prometheus's own `up`).
    @Test func ruleExpressionsUseExportedMetrics() async throws {
        let exported = PromQLNames.exported(byExposition: try await RelayMetricsRun.shared().metricsText)
        var missing: [String: Set<String>] = [:]
        for rule in try PrometheusRulesTests.alerts() {
            let names = PromQLNames.metricNames(in: rule["expr"] as? String ?? "").subtracting(exported).subtracting(["up"])
            if !names.isEmpty { missing[rule["alert"] as? String ?? "?", default: []].formUnion(names) }
        }
        #expect(missing.isEmpty, "alerts select metrics the relay does not export: \(missing.mapValues { $0.sorted() })")
    }

    /// The metrics table of docs/operations.md has a row for every metric family the relay exports.
    @Test func operationsGuideDocumentsEveryExportedMetric() async throws {
        let text = try await RelayMetricsRun.shared().metricsText
        let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.compactMap {
            $0.split(separator: " ").dropFirst(2).first.map(String.init)
        }
        #expect(families.count >= 15)
        let guide = try RepositoryFiles.text("docs/operations.md")
        let undocumented = families.filter { !guide.contains("| `\($0)` |") }
        #expect(undocumented.isEmpty, "metrics missing from the table in docs/operations.md: \(undocumented.sorted())")
    }

    /// Runs `executable` with `stdin` as standard input: (status, stdout + stderr).
    static func run(_ executable: URL, _ arguments: [String], stdin: URL) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: stdin)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
