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

/// Wires the relay's services and runs them until SIGTERM/SIGINT (graceful: drain, commit, exit 0).
enum Relay {
    struct MissingTopic: Error, CustomStringConvertible {
        var topic: String
        var description: String {
            "topic \"\(topic)\" does not exist: create it first (june-relay does not auto-create topics)"
        }
    }

    static func run(settings: RelaySettings, logger: Logger) async throws {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["relay_june_batch_events"] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000]
        MetricsSystem.bootstrap(factory)

        // Start-up checks, before anything is consumed: Kafka properties (librdkafka rejects unknown
        // keys), then that every topic exists.
        let deadLetters: DeadLetterProducer
        do {
            let producerConfiguration = settings.producer
            deadLetters = try DeadLetterProducer { () throws(KafkaError) -> KafkaProducer in
                try KafkaProducer(configuration: producerConfiguration, logger: logger)
            }
            try await checkTopicsExist(settings: settings, logger: logger)
        } catch {
            logger.critical("Start-up check failed", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        let june: JuneHTTPClient
        do {
            june = try JuneHTTPClient(configuration: settings.june, logger: logger)
        } catch {
            logger.critical("Invalid June settings", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        // librdkafka's statistics (broker round trips, fetch queue, group state) as metrics.
        let kafkaStatistics = KafkaStatisticsMetrics()
        var consumerConfiguration = settings.consumer
        consumerConfiguration.statisticsHandler = { kafkaStatistics.record($0) }
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(
                configuration: settings.pipeline,
                consumerConfiguration: consumerConfiguration,
                deadLetters: deadLetters,
                sender: june,
                metrics: PipelineMetrics(),
                beforeProbe: settings.writeKeyFile.map { file in { @Sendable in reloadWriteKey(from: file, into: june, logger: logger) } },
                logger: logger
            )
        } catch {
            logger.critical("Invalid Kafka configuration", metadata: ["error": "\(error)"])
            try? await june.shutdown()
            throw ExitCode(2)
        }

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let port = settings.metricsPort {
            let server = MetricsServer(port: port, registry: registry, pipeline: pipeline, logger: logger)
            services.append(.init(service: server))
        }
        services.append(.init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info(
            "june-relay starting",
            metadata: [
                "kafka.topics": "\(settings.pipeline.topics.joined(separator: ","))",
                "kafka.group.id": "\(settings.consumer.groupID)",
                "june.url": "\(settings.june.baseURL)",
                "dlq.topic": "\(settings.pipeline.deadLetterTopic)",
            ]
        )
        defer { logger.info("june-relay stopped") }
        do {
            try await group.run()
        } catch {
            try? await june.shutdown()
            throw error
        }
        try? await june.shutdown()
    }

    private static func checkTopicsExist(settings: RelaySettings, logger: Logger) async throws {
        let admin = try KafkaAdmin(
            bootstrapServers: settings.consumer.bootstrapServers,
            additionalProperties: settings.producer.additionalProperties,
            logger: logger
        )
        for topic in settings.pipeline.topics + [settings.pipeline.deadLetterTopic] {
            guard try await admin.topicExists(topic, timeout: .seconds(10)) else { throw MissingTopic(topic: topic) }
        }
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
