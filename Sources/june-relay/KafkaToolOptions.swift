import ArgumentParser
import Foundation
import Kafka
import Logging
import RelayOperations

/// The connection and logging options shared by the operator tools (`offsets show|reset`, `dlq redrive`).
/// Their logs go to stderr (default level `warning`, so stdout holds only the report).
struct KafkaToolOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, HOST:PORT[,HOST:PORT].")
    var brokers: String

    @Option(help: "librdkafka property KEY=VALUE (repeatable): TLS, SASL, tuning.")
    var kafkaConfig: [String] = []

    @Option(help: "Seconds to wait for each Kafka request and for joining the group.")
    var timeout = 30.0

    @Option(help: "Log level (stderr): trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    @Option(help: "Log format: text, or json for one JSON object per line.")
    var logFormat: LogFormat = .text

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        _ = try kafkaProperties()
    }

    /// `--kafka-config` entries as librdkafka properties.
    func kafkaProperties() throws -> [String: String] {
        do {
            return try KafkaConfigEntries.parse(kafkaConfig)
        } catch {
            throw ValidationError(error.description)
        }
    }

    var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1_000)) }

    /// Bootstraps logging and connects the group-offsets tool (`offsets show|reset`).
    func groupOffsets() throws -> ConsumerGroupOffsets {
        let logger = bootstrapLogging(label: "june-relay.offsets")
        let admin = try KafkaAdmin(
            bootstrapServers: brokers,
            additionalProperties: ConsumerGroupOffsets.toolProperties(kafkaProperties()),
            logger: logger
        )
        return ConsumerGroupOffsets(admin: admin, timeout: timeoutDuration, logger: logger)
    }

    /// Bootstraps swift-log once for the process (stderr) and returns the root logger.
    func bootstrapLogging(label: String) -> Logger {
        LoggingOptions.bootstrap(level: logLevel, format: logFormat, label: label)
    }
}

extension Console {
    /// Writes `text` (which carries its own line breaks) to stdout.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
