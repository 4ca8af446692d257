import ArgumentParser
import Foundation
import JuneClient
import Kafka
import Logging
import Pipeline
import ServiceLifecycle

/// `june-relay run`: the relay itself (spec §1–§6, §8).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume events from Kafka as a group member and deliver them to June."
    )

    @Option(help: "Kafka bootstrap servers, HOST:PORT[,HOST:PORT].")
    var brokers: String

    @Option(help: "Input topic (repeat for several).")
    var topic: [String] = []

    @Option(help: "Consumer group id.")
    var group = "june-relay"

    @Option(help: "Dead-letter topic. Default: <first topic>.dlq.")
    var dlqTopic: String?

    @Option(help: "June API base URL.")
    var juneURL = "https://api.june.so"

    @Option(help: "Maximum June requests in flight per process.")
    var maxInFlight = 256

    @Option(help: "Seconds to wait for in-flight events on revoke and shutdown.")
    var drainTimeout = 10.0

    @Option(help: "librdkafka property KEY=VALUE (repeatable): TLS, SASL, tuning.")
    var kafkaConfig: [String] = []

    @Option(help: "Port for /metrics, /healthz and /readyz (0 = off).")
    var metricsPort = 9464

    @Option(help: "File holding the June write key (else JUNE_WRITE_KEY).")
    var writeKeyFile: String?

    @Option(help: "Seconds of retrying per event before it is dead-lettered (0 = forever).")
    var retryBudget = 900.0

    @Option(help: "June request timeout in seconds.")
    var requestTimeout = 10.0

    @Option(help: "Largest accepted event in bytes; larger ones are dead-lettered.")
    var maxEventBytes = 1_048_576

    @Option(help: "Buffered records per partition before the partition is paused; at 4x that in total the relay stops polling.")
    var maxBuffered = 5_000

    @Option(help: "Seconds between offset commits.")
    var commitInterval = 1.0

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay")
        let settings: RelaySettings
        do {
            settings = try RelaySettings(command: self, environment: ProcessInfo.processInfo.environment)
        } catch {
            logger.critical("Invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        try await Relay.run(settings: settings, logger: logger)
    }
}
