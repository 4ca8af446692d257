import Foundation
import Testing

/// One end-to-end run shared by the tests that need the relay's real metrics: `dev-broker`, `june-stub`
/// and a relay as processes, Debian's `prometheus` server scraping the relay the way the deploy
/// manifests say (path and scheme of deploy/servicemonitor.yaml and the Service's `prometheus.io/*`
/// annotations, every second) and evaluating deploy/prometheus-rules.yaml, 300 events delivered; then the
/// relay's own `/metrics` text and what Prometheus answered through its HTTP API.
struct RelayMetricsRun: Sendable {
    static let events = 300

    /// The relay's `/metrics` after the events were delivered (and librdkafka reported statistics).
    var metricsText: String
    /// Events the stub accepted.
    var stubAccepted: Int
    /// `sum(relay_records_delivered_total{job="june-relay"})` read back through Prometheus's query API.
    var prometheusDelivered: Double?
    /// `up{job="june-relay"}` through Prometheus.
    var prometheusUp: Double?
    /// Rule name → health (`ok`, `err`, `unknown`) and last error, from Prometheus's rules API.
    var ruleHealth: [String: String]
    /// The relay's exit status after SIGTERM.
    var relayExitStatus: Int32

    /// Runs once per test process; every caller gets the same outcome (or error).
    static func shared() async throws -> RelayMetricsRun {
        try await Cache.instance.value()
    }

    private actor Cache {
        static let instance = Cache()
        private var task: Task<RelayMetricsRun, any Error>?

        func value() async throws -> RelayMetricsRun {
            if let task { return try await task.value }
            let task = Task { try await RelayMetricsRun.perform() }
            self.task = task
            return try await task.value
        }
    }

    /// The scrape settings the manifests imply: (scheme, path).
    static func scrapeSettings() throws -> (scheme: String, path: String) {
        let monitor = try DeployFilesTests.object(kind: "ServiceMonitor")
        let endpoint = try #require(((monitor["spec"] as? [String: Any])?["endpoints"] as? [[String: Any]])?.first)
        let service = try DeployFilesTests.object(kind: "Service")
        let annotations = (service["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
        let path = try #require(endpoint["path"] as? String)
        let scheme = endpoint["scheme"] as? String ?? "http"
        try #require(annotations["prometheus.io/path"] ?? "/metrics" == path, "Service annotation and ServiceMonitor disagree on the path")
        try #require(annotations["prometheus.io/scheme"] ?? "http" == scheme, "Service annotation and ServiceMonitor disagree on the scheme")
        return (scheme, path)
    }

    private static func perform() async throws -> RelayMetricsRun {
        let binary = try RepositoryFiles.requireBinary()
        let prometheusBinary = try PrometheusTools.require("prometheus")
        let (scheme, path) = try scrapeSettings()
        let metricsPort = try PrometheusTools.freePort()
        let prometheusPort = try PrometheusTools.freePort()
        let directory = try PrometheusTools.ruleFilesDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }

        let broker = try ChildProcess(
            binary, ["dev-broker", "--topic", "events", "--topic", "events.dlq", "--partitions", "2", "--brokers", "1"], name: "dev-broker")
        let stub = try ChildProcess(binary, ["june-stub", "--port", "0"], name: "june-stub")
        var relay: ChildProcess?
        var prometheus: ChildProcess?
        defer {
            prometheus?.kill()
            relay?.kill()
            stub.kill()
            broker.kill()
        }
        let brokers = try await broker.firstLine()
        let stubURL = try await stub.firstLine()

        prometheus = try startPrometheus(
            prometheusBinary, port: prometheusPort, directory: directory, scheme: scheme, path: path, metricsPort: metricsPort)
        let api = "http://127.0.0.1:\(prometheusPort)"

        let produced = try await ChildProcess.run(
            binary, ["dev-produce", "--brokers", brokers, "--topic", "events", "--events", "\(events)", "--users", "30"])
        try #require(produced.status == 0, "dev-produce: \(produced.stderr)")
        let started = try startRelay(binary, brokers: brokers, stubURL: stubURL, metricsPort: metricsPort)
        relay = started

        let accepted = try await waitForDelivery(started, metricsPort: metricsPort, path: path, stubURL: stubURL)
        let seen = await prometheusView(api, accepted: accepted, relay: started)
        let text = try #require(await metrics(metricsPort, path), "GET \(path) failed at the end")
        let status = try await relay?.terminate() ?? -1
        relay = nil
        return RelayMetricsRun(
            metricsText: text, stubAccepted: accepted, prometheusDelivered: seen.delivered, prometheusUp: seen.up,
            ruleHealth: seen.health, relayExitStatus: status
        )
    }

    /// Debian's `prometheus` on `port`, scraping the relay's `metricsPort` every second with the manifests'
    /// `scheme` and `path`, and evaluating the rule files in `directory`.
    private static func startPrometheus(
        _ binary: URL,
        port: Int,
        directory: URL,
        scheme: String,
        path: String,
        metricsPort: Int
    ) throws -> ChildProcess {
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
              - \(directory.appendingPathComponent("june-relay.rules.yaml").path)
            scrape_configs:
              - job_name: june-relay
                scheme: \(scheme)
                metrics_path: \(path)
                static_configs:
                  - targets: ["127.0.0.1:\(metricsPort)"]
            """
        let configURL = directory.appendingPathComponent("prometheus.yml")
        try Data(config.utf8).write(to: configURL)
        let storage = directory.appendingPathComponent("tsdb")
        return try ChildProcess(
            binary,
            ["--config.file=\(configURL.path)", "--storage.tsdb.path=\(storage.path)", "--web.listen-address=127.0.0.1:\(port)"],
            name: "prometheus"
        )
    }

    /// The relay, consuming `events` with short group timing, librdkafka statistics every second and
    /// `/metrics` on `metricsPort`.
    private static func startRelay(_ binary: URL, brokers: String, stubURL: String, metricsPort: Int) throws -> ChildProcess {
        try ChildProcess(
            binary,
            [
                "run", "--brokers", brokers, "--topic", "events", "--group", "metrics-e2e", "--june-url", stubURL,
                "--metrics-port", "\(metricsPort)", "--commit-interval", "0.2",
                "--kafka-config", "session.timeout.ms=6000", "--kafka-config", "heartbeat.interval.ms=500",
                "--kafka-config", "statistics.interval.ms=1000",
            ],
            environment: ["JUNE_WRITE_KEY": "metrics-e2e-key"],
            name: "relay"
        )
    }

    /// Waits until the relay consumed every event, finished them with the stub's count settled, and
    /// reported librdkafka statistics. Returns the events the stub accepted.
    private static func waitForDelivery(_ relay: ChildProcess, metricsPort: Int, path: String, stubURL: String) async throws -> Int {
        // Every valid event reaches the stub (the sample has invalid ones, which are dead-lettered).
        let consumed = try await waitFor("the relay consuming every event", relay) { () async -> Int? in
            guard let text = await metrics(metricsPort, path) else { return nil }
            let total = sum(of: "relay_records_consumed_total", in: text)
            return total >= Double(events) ? Int(total) : nil
        }
        let accepted = try await waitFor("the stub's count to settle", relay) { () async -> Int? in
            guard let text = await metrics(metricsPort, path),
                let stats = try? await ReplayEndToEndTests.waitForStub(
                    StubClient(baseURL: stubURL), process: relay, timeout: .seconds(5), until: { _ in true })
            else { return nil }
            let finished = sum(of: "relay_records_delivered_total", in: text) + sum(of: "relay_records_dead_lettered_total", in: text)
            return finished >= Double(consumed) && Double(stats.accepted) == sum(of: "relay_records_delivered_total", in: text) ? stats.accepted : nil
        }
        // librdkafka statistics arrive every second; the group settles after joining.
        _ = try await waitFor("librdkafka statistics in /metrics", relay) { () async -> Bool? in
            guard let text = await metrics(metricsPort, path) else { return nil }
            return sum(of: "relay_kafka_group_state", in: text) == 1 && text.contains("relay_kafka_broker_rtt_seconds{") ? true : nil
        }
        return accepted
    }

    /// What Prometheus says once it scraped the relay since the last delivery (`accepted` delivered) and
    /// evaluated every rule at least once, or what it said when time ran out.
    private static func prometheusView(
        _ api: String,
        accepted: Int,
        relay: ChildProcess
    ) async -> (delivered: Double?, up: Double?, health: [String: String]) {
        let delivered = try? await waitFor("Prometheus to report the delivered total", relay, timeout: .seconds(60)) { () async -> Double? in
            guard let value = await query(api, #"sum(relay_records_delivered_total{job="june-relay"})"#) else { return nil }
            return value == Double(accepted) ? value : nil
        }
        let up = await query(api, #"up{job="june-relay"}"#)
        var health = try? await waitFor("Prometheus to evaluate the rules", relay, timeout: .seconds(30)) { () async -> [String: String]? in
            guard let health = await ruleHealth(api), !health.isEmpty, !health.values.contains("unknown") else { return nil }
            return health
        }
        if health == nil { health = await ruleHealth(api) }
        var lastDelivered = delivered
        if lastDelivered == nil { lastDelivered = await query(api, #"sum(relay_records_delivered_total{job="june-relay"})"#) }
        return (lastDelivered, up, health ?? [:])
    }

    // MARK: - Helpers

    static func metrics(_ port: Int, _ path: String) async -> String? {
        guard let (status, body) = await PrometheusTools.get("http://127.0.0.1:\(port)\(path)"), status == 200 else { return nil }
        return String(decoding: body, as: UTF8.self)
    }

    /// The sum of every sample of `name` (any labels) in an exposition.
    static func sum(of name: String, in text: String) -> Double {
        text.split(separator: "\n").reduce(0) { total, line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return total }
            return total + (line.split(separator: " ").last.flatMap { Double($0) } ?? 0)
        }
    }

    /// An instant query's single value, or `nil` (no answer, no result).
    static func query(_ api: String, _ promQL: String) async -> Double? {
        var components = URLComponents(string: api + "/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promQL)]
        guard let (status, body) = await PrometheusTools.get(components.url!.absoluteString), status == 200,
            let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let result = ((json["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first,
            let value = (result["value"] as? [Any])?.last as? String
        else { return nil }
        return Double(value)
    }

    /// Rule name → `health` (plus `: lastError` when there is one) from `/api/v1/rules`.
    static func ruleHealth(_ api: String) async -> [String: String]? {
        guard let (status, body) = await PrometheusTools.get(api + "/api/v1/rules"), status == 200,
            let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let groups = (json["data"] as? [String: Any])?["groups"] as? [[String: Any]]
        else { return nil }
        var health: [String: String] = [:]
        for rule in groups.flatMap({ $0["rules"] as? [[String: Any]] ?? [] }) {
            guard let name = rule["name"] as? String else { continue }
            let error = (rule["lastError"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            health[name] = (rule["health"] as? String ?? "?") + (error.map { ": \($0)" } ?? "")
        }
        return health
    }

    /// Polls `probe` every 250 ms until it returns a value; fails if the relay exits or time runs out.
    static func waitFor<T: Sendable>(
        _ what: String,
        _ relay: ChildProcess?,
        timeout: Duration = .seconds(90),
        _ probe: () async -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let value = await probe() { return value }
            if let relay, !relay.isRunning {
                throw ChildProcessError("relay exited while waiting for \(what): \(relay.stderr.suffix(3_000))")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw ChildProcessError("timed out waiting for \(what); relay stderr: \(relay?.stderr.suffix(3_000) ?? "")")
    }
}
