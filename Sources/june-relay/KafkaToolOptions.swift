import ArgumentParser
import Foundation
import Logging

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
        var properties: [String: String] = [:]
        for entry in kafkaConfig {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--kafka-config expects KEY=VALUE, got \"\(entry)\"")
            }
            properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return properties
    }

    var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1_000)) }

    /// Bootstraps swift-log once for the process (stderr) and returns the root logger.
    func bootstrapLogging(label: String) -> Logger {
        let level = logLevel
        switch logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: label)
    }
}

extension Console {
    /// Writes `text` (which carries its own line breaks) to stdout.
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
