import ArgumentParser
import JuneClient
import Kafka
import Logging
import Pipeline
import Prometheus
import ServiceLifecycle
import UnixSignals

/// The relay's services, built from its settings in one place for `run` and `demo` (as Hummingbird's
/// `buildApplication`): the metrics server, the June client, the pipeline and its metrics.
///
/// ``build(settings:registry:logger:)`` does every start-up check before the consumer joins the group
/// (relay-spec §8, no half-started process): first the metrics port is bound (before any Kafka client
/// exists, so a taken port fails at once), then the Kafka properties, the topics and the June
/// settings. A failure is a start-up error, exit 2.
struct RelayServices: Sendable {
    let settings: RelaySettings
    let pipeline: Pipeline
    let june: JuneHTTPClient
    let metrics: PipelineMetrics
    let metricsServer: MetricsServer?

    static func build(settings: RelaySettings, registry: PrometheusCollectorRegistry, logger: Logger) async throws -> RelayServices {
        var metricsServer: MetricsServer?
        if let port = settings.metricsPort {
            let server = MetricsServer(port: port, registry: registry, logger: logger)
            do {
                try await server.bind()
            } catch {
                logger.critical("Start-up check failed", metadata: ["error": "\(error)"])
                throw ExitCode(RunCommand.startUpError)
            }
            metricsServer = server
        }
        do {
            let (pipeline, june, metrics) = try await Self.startUp(settings: settings, logger: logger)
            metricsServer?.attach(pipeline)
            return RelayServices(settings: settings, pipeline: pipeline, june: june, metrics: metrics, metricsServer: metricsServer)
        } catch {
            await metricsServer?.close()
            throw error
        }
    }

    /// Runs the metrics server and the pipeline in one service group until SIGTERM/SIGINT or until one
    /// of them ends (``Pipeline/requestStop()`` ends the pipeline). Either ending, with or without an
    /// error, shuts the group down gracefully: the pipeline drains, commits and leaves the group (it is
    /// never cancelled mid-way), and the error, if any, is thrown after the June client is shut down.
    func run(logger: Logger) async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metricsServer {
            services.append(
                .init(
                    service: metricsServer, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup
                ))
        }
        services.append(
            .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
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
        do {
            try await group.run()
        } catch {
            logger.critical("The relay stopped because a service failed", metadata: ["error": "\(error)"])
            try? await june.shutdown()
            throw error
        }
        try? await june.shutdown()
    }
}
