import ArgumentParser
import Foundation
import JuneClient
import Kafka
import Logging
import Metrics
import Pipeline
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `june-relay run`'s start-up: metrics, the start-up checks and the clients the services are built from.
extension RelayServices {
    struct MissingTopic: Error, CustomStringConvertible {
        var topic: String
        var description: String {
            "topic \"\(topic)\" does not exist: create it first (june-relay does not auto-create topics)"
        }
    }

    /// Runs the relay until SIGTERM/SIGINT: builds its services (every start-up check, exit 2 on a
    /// failure) and runs them.
    static func run(settings: RelaySettings, logger: Logger) async throws {
        let services = try await Self.build(settings: settings, registry: Self.bootstrapMetrics(), logger: logger)
        defer { logger.info("june-relay stopped") }
        try await services.run(logger: logger)
    }

    /// Makes Prometheus the process's metrics backend (once per process) and returns its registry.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["relay_june_batch_events"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// The start-up checks after the metrics port: Kafka properties (librdkafka rejects unknown keys),
    /// that every topic exists, the June settings; then the pipeline (its consumer has not joined yet).
    /// Throws `ExitCode(2)` after logging the cause.
    static func startUp(settings: RelaySettings, logger: Logger) async throws -> (Pipeline, JuneHTTPClient, PipelineMetrics) {
        let deadLetters: DeadLetterProducer
        let clusterID: String?
        do {
            let producerConfiguration = settings.producer
            deadLetters = try DeadLetterProducer { () throws(KafkaError) -> KafkaProducer in
                try KafkaProducer(configuration: producerConfiguration, logger: logger)
            }
            clusterID = try await checkTopicsExist(settings: settings, logger: logger)
        } catch {
            logger.critical("Start-up check failed", metadata: ["error": "\(error)"])
            throw ExitCode(RunCommand.startUpError)
        }
        let june: JuneHTTPClient
        do {
            june = try JuneHTTPClient(configuration: settings.june, logger: logger)
        } catch {
            logger.critical("Invalid June settings", metadata: ["error": "\(error)"])
            throw ExitCode(RunCommand.startUpError)
        }
        // librdkafka's statistics (broker round trips, fetch queue, group state) as metrics.
        let kafkaStatistics = KafkaStatisticsMetrics()
        var consumerConfiguration = settings.consumer
        if let clusterID, KafkaMockCluster.isMockClusterID(clusterID) {
            shortenGroupSession(&consumerConfiguration, logger: logger)
        }
        consumerConfiguration.statisticsHandler = { kafkaStatistics.record($0) }
        let metrics = PipelineMetrics()
        do {
            let pipeline = try Pipeline(
                configuration: settings.pipeline,
                consumerConfiguration: consumerConfiguration,
                deadLetters: deadLetters,
                sender: june,
                metrics: metrics,
                beforeProbe: settings.writeKeyFile.map { file in { @Sendable in reloadWriteKey(from: file, into: june, logger: logger) } },
                logger: logger
            )
            return (pipeline, june, metrics)
        } catch {
            logger.critical("Invalid Kafka configuration", metadata: ["error": "\(error)"])
            try? await june.shutdown()
            throw ExitCode(RunCommand.startUpError)
        }
    }

    /// Checks that every topic exists; returns the cluster id the brokers reported (from the same metadata).
    private static func checkTopicsExist(settings: RelaySettings, logger: Logger) async throws -> String? {
        let admin = try KafkaAdmin(
            bootstrapServers: settings.consumer.bootstrapServers,
            additionalProperties: settings.producer.additionalProperties,
            logger: logger
        )
        for topic in settings.pipeline.topics + [settings.pipeline.deadLetterTopic] {
            guard try await admin.topicExists(topic, timeout: .seconds(10)) else { throw MissingTopic(topic: topic) }
        }
        return await admin.clusterID(timeout: .seconds(2))
    }

    /// Group session settings for the dev broker (librdkafka 2.0.2's mock cluster), unless
    /// `--kafka-config` sets them: `session.timeout.ms=6000`, `heartbeat.interval.ms=1000`.
    ///
    /// Dev-broker specific. When the last member leaves a group, the mock does not empty the group at
    /// once as Kafka does: it keeps it "Joining" for the departed member's `session.timeout.ms` − 1 s
    /// (rd_kafka_mock_cgrp_rebalance), and in that window nobody can join or commit; a JoinGroup sent
    /// meanwhile is parked until the window ends (and dropped if the joiner's own session runs out
    /// first). With librdkafka's 45 s default, `offsets reset` right after the relays stopped would wait
    /// 44 s; with 6 s it waits 5 s. Against a real cluster nothing changes.
    static func shortenGroupSession(_ configuration: inout KafkaConsumerConfiguration, logger: Logger) {
        let user = configuration.additionalProperties
        if user["session.timeout.ms"] == nil { configuration.sessionTimeout = .seconds(6) }
        if user["heartbeat.interval.ms"] == nil { configuration.heartbeatInterval = .seconds(1) }
        logger.info(
            "Brokers are librdkafka's mock cluster (dev-broker): group session shortened so a reset after a stop waits seconds",
            metadata: [
                "kafka.session.timeout.ms": "\(configuration.properties()["session.timeout.ms"] ?? "")",
                "kafka.heartbeat.interval.ms": "\(configuration.properties()["heartbeat.interval.ms"] ?? "")",
            ]
        )
    }

    /// While June refuses the relay, the write-key file is re-read before each probe, so a rotated
    /// secret (a Kubernetes Secret volume is updated in place) takes effect without a restart.
    private static func reloadWriteKey(from file: String, into june: JuneHTTPClient, logger: Logger) {
        do {
            let key = try RelaySettings.writeKey(file: file)
            try june.updateWriteKey(key)
        } catch {
            logger.warning("Re-reading the write-key file failed", metadata: ["error": "\(error)"])
        }
    }
}
