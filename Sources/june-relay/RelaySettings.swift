import Foundation
import JuneClient
import Kafka
import Pipeline

/// Every setting of `run`, validated at start-up (spec §7, issue 5): the flags and environment mapped
/// to the typed configurations in one place. Errors name what is wrong; nothing is consumed before.
struct RelaySettings: Sendable {
    var pipeline: PipelineConfiguration
    var consumer: KafkaConsumerConfiguration
    var producer: KafkaProducerConfiguration
    var june: JuneClientConfiguration
    var metricsPort: Int?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(command: RunCommand, environment: [String: String]) throws {
        guard !command.topic.isEmpty else { throw Invalid(description: "at least one --topic is required") }
        guard command.maxInFlight > 0 else { throw Invalid(description: "--max-in-flight must be positive") }
        guard command.drainTimeout >= 0, command.retryBudget >= 0, command.requestTimeout > 0, command.commitInterval > 0
        else { throw Invalid(description: "durations must not be negative") }

        let writeKey = try Self.writeKey(file: command.writeKeyFile, environment: environment)
        var june = JuneClientConfiguration(writeKey: writeKey)
        june.baseURL = command.juneURL
        june.requestTimeout = .seconds(command.requestTimeout)
        june.maxConnections = command.maxInFlight
        june.userAgent = "june-relay/\(JuneRelayCommand.version)"
        try june.validate()
        self.june = june

        let kafkaProperties = try KafkaConfigEntries.parse(command.kafkaConfig)

        var consumer = KafkaConsumerConfiguration(bootstrapServers: command.brokers, groupID: command.group)
        consumer.additionalProperties = kafkaProperties
        self.consumer = consumer
        var producer = KafkaProducerConfiguration(bootstrapServers: command.brokers)
        producer.additionalProperties = kafkaProperties.filter { Self.isSharedClientProperty($0.key) }
        self.producer = producer

        var pipeline = PipelineConfiguration(topics: command.topic, deadLetterTopic: command.dlqTopic)
        pipeline.maxInFlight = command.maxInFlight
        pipeline.drainTimeout = .seconds(command.drainTimeout)
        pipeline.commitInterval = .seconds(command.commitInterval)
        pipeline.maxEventBytes = command.maxEventBytes
        pipeline.maxBufferedPerPartition = command.maxBuffered
        pipeline.maxBufferedTotal = command.maxBuffered * 4
        pipeline.retryPolicy.budget = command.retryBudget == 0 ? nil : .seconds(command.retryBudget)
        self.pipeline = pipeline
        self.metricsPort = command.metricsPort > 0 ? command.metricsPort : nil
    }

    /// The write key from `--write-key-file` or `JUNE_WRITE_KEY` (spec §7); never from a plain flag.
    static func writeKey(file: String?, environment: [String: String]) throws -> String {
        if let file {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw Invalid(description: "cannot read --write-key-file \(file)")
            }
            let key = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw Invalid(description: "--write-key-file \(file) is empty") }
            return key
        }
        guard let key = environment["JUNE_WRITE_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty
        else {
            throw Invalid(description: "missing June write key: set JUNE_WRITE_KEY or pass --write-key-file PATH")
        }
        return key
    }

    /// Connection and security properties apply to the dead-letter producer too; consumer tuning does not.
    static func isSharedClientProperty(_ key: String) -> Bool {
        ["security.", "ssl.", "sasl.", "client.", "socket.", "broker.", "metadata.", "bootstrap.", "debug", "log"]
            .contains { key.hasPrefix($0) }
    }
}
