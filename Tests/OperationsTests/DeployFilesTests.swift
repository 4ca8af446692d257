import Foundation
import Testing
import Yams

/// Docker cannot run here, so the packaging files are checked as data: every YAML document parses, the
/// Kubernetes objects have what an operator relies on, and every flag and JUNE_RELAY_* variable they use
/// is one the built binary accepts.
@Suite struct DeployFilesTests {
    static let yamlFiles = [
        "docker-compose.yml", "deploy/kustomization.yaml", "deploy/configmap.yaml", "deploy/deployment.yaml",
        "deploy/service.yaml", "deploy/servicemonitor.yaml", "deploy/pdb.yaml", "deploy/keda-scaledobject.yaml",
        "deploy/prometheus-rules.yaml",
    ]

    static func documents(_ path: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: RepositoryFiles.text(path)).map { document in
            try #require(document as? [String: Any], "\(path): a document is not a mapping")
        }
    }

    /// The one object of `kind` in `deploy/`.
    static func object(kind: String) throws -> [String: Any] {
        let all = try yamlFiles.filter { $0.hasPrefix("deploy/") }.flatMap(documents)
        let matches = all.filter { $0["kind"] as? String == kind }
        try #require(matches.count == 1, "expected one \(kind) in deploy/, found \(matches.count)")
        return matches[0]
    }

    @Test(arguments: yamlFiles)
    func yamlParses(path: String) throws {
        let documents = try Self.documents(path)
        #expect(!documents.isEmpty)
    }

    @Test func kustomizationListsEveryManifest() throws {
        let resources = try #require(Self.documents("deploy/kustomization.yaml").first?["resources"] as? [String])
        let manifests = Self.yamlFiles.filter { $0.hasPrefix("deploy/") && $0 != "deploy/kustomization.yaml" }
        #expect(Set(resources.map { "deploy/" + $0 }) == Set(manifests))
    }

    @Test func deploymentHasProbesSecretConfigAndGracePeriod() throws {
        let deployment = try Self.object(kind: "Deployment")
        let spec = try #require(deployment["spec"] as? [String: Any])
        let template = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((template["containers"] as? [[String: Any]])?.first)

        #expect(container["args"] as? [String] == ["run"])
        func probePath(_ name: String) -> String? {
            ((container[name] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String
        }
        #expect(probePath("livenessProbe") == "/healthz")
        #expect(probePath("readinessProbe") == "/readyz")
        let ports = try #require(container["ports"] as? [[String: Any]])
        #expect(ports.contains { $0["name"] as? String == "metrics" && $0["containerPort"] as? Int == 9464 })

        let resources = try #require(container["resources"] as? [String: Any])
        #expect((resources["requests"] as? [String: Any])?["cpu"] != nil)
        #expect((resources["requests"] as? [String: Any])?["memory"] != nil)
        #expect((resources["limits"] as? [String: Any])?["memory"] != nil)

        let env = try #require(container["env"] as? [[String: Any]])
        let writeKey = try #require(env.first { $0["name"] as? String == "JUNE_WRITE_KEY" })
        #expect(writeKey["value"] == nil, "the write key must not be a plain value")
        let secretRef = try #require((writeKey["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])
        #expect(secretRef["name"] as? String != nil && secretRef["key"] as? String != nil)

        let configMap = try Self.object(kind: "ConfigMap")
        let configMapName = (configMap["metadata"] as? [String: Any])?["name"] as? String
        let envFrom = try #require(container["envFrom"] as? [[String: Any]])
        #expect(envFrom.contains { ($0["configMapRef"] as? [String: Any])?["name"] as? String == configMapName })

        let data = try #require(configMap["data"] as? [String: String])
        let drainText = try #require(data["JUNE_RELAY_DRAIN_TIMEOUT"])
        let drain = try #require(Double(drainText))
        let grace = try #require(template["terminationGracePeriodSeconds"] as? Int)
        #expect(Double(grace) == drain + 30, "terminationGracePeriodSeconds = drain timeout + 30 s (commit, leave, flush)")
        #expect(data["JUNE_RELAY_METRICS_PORT"] == "9464")
        #expect(!data.keys.contains("JUNE_WRITE_KEY"), "the write key belongs in a Secret")

        let securityContext = try #require(template["securityContext"] as? [String: Any])
        #expect(securityContext["runAsNonRoot"] as? Bool == true)
    }

    @Test func serviceAndServiceMonitorScrapeMetrics() throws {
        let deployment = try Self.object(kind: "Deployment")
        let podLabels = try #require(
            (((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: String]
        )
        let service = try Self.object(kind: "Service")
        let annotations = try #require((service["metadata"] as? [String: Any])?["annotations"] as? [String: String])
        #expect(annotations["prometheus.io/scrape"] == "true")
        #expect(annotations["prometheus.io/port"] == "9464")
        #expect(annotations["prometheus.io/path"] == "/metrics")
        let selector = try #require((service["spec"] as? [String: Any])?["selector"] as? [String: String])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value })

        let monitor = try Self.object(kind: "ServiceMonitor")
        let endpoints = try #require((monitor["spec"] as? [String: Any])?["endpoints"] as? [[String: Any]])
        #expect(endpoints.first?["port"] as? String == "metrics")
        #expect(endpoints.first?["path"] as? String == "/metrics")
    }

    @Test func podDisruptionBudgetSelectsTheRelay() throws {
        let pdb = try Self.object(kind: "PodDisruptionBudget")
        #expect(pdb["apiVersion"] as? String == "policy/v1")
        let spec = try #require(pdb["spec"] as? [String: Any])
        #expect(spec["maxUnavailable"] != nil || spec["minAvailable"] != nil)
        let labels = try #require((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String])
        #expect(labels["app.kubernetes.io/name"] == "june-relay")
    }

    @Test func kedaScalesOnConsumerLagWithinPartitions() throws {
        let scaled = try Self.object(kind: "ScaledObject")
        #expect(scaled["apiVersion"] as? String == "keda.sh/v1alpha1")
        let spec = try #require(scaled["spec"] as? [String: Any])
        #expect((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String == "june-relay")
        let trigger = try #require((spec["triggers"] as? [[String: Any]])?.first)
        #expect(trigger["type"] as? String == "kafka")
        let metadata = try #require(trigger["metadata"] as? [String: String])
        #expect(Int(metadata["lagThreshold"] ?? "") ?? 0 > 0)

        let config = try #require(Self.object(kind: "ConfigMap")["data"] as? [String: String])
        #expect(metadata["consumerGroup"] == config["JUNE_RELAY_GROUP"])
        #expect(metadata["topic"] == config["JUNE_RELAY_TOPIC"])
        #expect(metadata["bootstrapServers"] == config["JUNE_RELAY_BROKERS"])

        let partitions = try #require(
            Int(
                ((scaled["metadata"] as? [String: Any])?["annotations"] as? [String: String])?["june-relay/input-topic-partitions"] ?? ""
            ))
        let maxReplicas = try #require(spec["maxReplicaCount"] as? Int)
        #expect(maxReplicas <= partitions)
        #expect((spec["minReplicaCount"] as? Int ?? 0) >= 1)
    }

    @Test func composeRunsKafkaInKRaftModeWithTopicsStubAndRelay() throws {
        let compose = try #require(Self.documents("docker-compose.yml").first)
        let services = try #require(compose["services"] as? [String: Any])
        let kafka = try #require(services["kafka"] as? [String: Any])
        #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka") == true)
        let kafkaEnv = try #require(kafka["environment"] as? [String: Any])
        #expect((kafkaEnv["KAFKA_PROCESS_ROLES"] as? String)?.contains("controller") == true)

        let initScript = try #require(((services["kafka-init"] as? [String: Any])?["command"] as? [String])?.joined())
        #expect(initScript.contains("events events.dlq"))
        #expect(initScript.contains("--create"))

        let relay = try #require(services["june-relay"] as? [String: Any])
        #expect(relay["command"] as? [String] == ["run"])
        let relayEnv = try #require(relay["environment"] as? [String: Any])
        #expect(relayEnv["JUNE_WRITE_KEY"] != nil)
        #expect((relayEnv["JUNE_RELAY_JUNE_URL"] as? String)?.contains("june-stub:8080") == true)
        #expect(relayEnv["JUNE_RELAY_DLQ_TOPIC"] as? String == "events.dlq")
        let stub = try #require(services["june-stub"] as? [String: Any])
        #expect((stub["command"] as? [String])?.prefix(1) == ["june-stub"])
        #expect((stub["command"] as? [String])?.contains("8080") == true)
    }

    @Test func dockerfileIsMultiStageWithNonRootRuntime() throws {
        let dockerfile = try RepositoryFiles.text("Dockerfile")
        let stages = dockerfile.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(dockerfile.contains("ARG SWIFT_IMAGE=swift:6"))
        #expect(dockerfile.contains("ARG RUNTIME_IMAGE=debian:bookworm-slim"))
        #expect(dockerfile.contains("librdkafka-dev"))
        #expect(dockerfile.contains("librdkafka1"))
        #expect(dockerfile.contains("ca-certificates"))
        #expect(dockerfile.contains("\nUSER 10001"))
        #expect(dockerfile.contains(#"ENTRYPOINT ["/usr/local/bin/june-relay"]"#))
        #expect(dockerfile.contains(#"CMD ["run"]"#))
    }

    @Test func envExampleListsEveryRunVariable() throws {
        let example = try RepositoryFiles.text("deploy/june-relay.env.example")
        let listed = Set(CommandLineContract.variables(in: example))
        let table = try CommandLineContract.environmentTable()
        let runVariables = Set(try #require(table[["run"]]).map(CommandLineContract.variableName))
        #expect(runVariables.subtracting(listed).sorted() == [])
        #expect(example.contains("JUNE_WRITE_KEY="))
    }
}
