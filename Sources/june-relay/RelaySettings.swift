import Foundation
import JuneClient
import Kafka
import Pipeline

/// Every setting of `run`, validated at start-up: the flags and environment mapped
/// to the typed configurations in one place. Errors name what is wrong; nothing is consumed before.
struct RelaySettings: Sendable {
    var pipeline: PipelineConfiguration
    var consumer: KafkaConsumerConfiguration
    var producer: KafkaProducerConfiguration
    var june: JuneClientConfiguration
    var metricsPort: Int?
    /// `--write-key-file`, re-read before each probe while June refuses the key.
    var writeKeyFile: String?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(command: RunCommand, environment: [String: String]) throws {
        try command.validate()
        let writeKey = try Self.writeKey(file: command.writeKeyFile, environment: environment)
        var june = JuneClientConfiguration(writeKey: writeKey)
        june.baseURL = command.juneURL
        june.requestTimeout = .seconds(command.requestTimeout)
        june.maxConnections = command.maxInFlight
        june.allowInsecureHTTP = command.allowInsecureHTTP
        june.caFile = command.juneCAFile
        // HTTPS_PROXY / https_proxy (HTTP_PROXY for http URLs) and NO_PROXY, as curl reads them.
        june.proxy = try JuneProxy.fromEnvironment(environment, for: command.juneURL)
        june.userAgent = "june-relay/\(JuneRelayCommand.version)"
        try june.validate()
        self.june = june

        let kafkaProperties = try KafkaConfigEntries.parse(command.kafkaConfig)

        var consumer = KafkaConsumerConfiguration(bootstrapServers: command.brokers, groupID: command.group)
        // Single delivery (at most ~25,000 events/s here) is fed by a 16 MiB prefetch queue; batch
        // delivery drains 60,000/s and starved at 16 MiB (docs/performance.md). `--kafka-config
        // queued.max.messages.kbytes=…` overrides either.
        consumer.maxPrefetchKilobytes = command.delivery == .batch ? 32_768 : 16_384
        consumer.additionalProperties = kafkaProperties
        self.consumer = consumer
        var producer = KafkaProducerConfiguration(bootstrapServers: command.brokers)
        producer.additionalProperties = kafkaProperties.filter { Self.isSharedClientProperty($0.key) }
        self.producer = producer

        var pipeline = PipelineConfiguration(topics: command.topic, deadLetterTopic: command.dlqTopic)
        pipeline.maxInFlight = command.maxInFlight
        pipeline.concurrency = command.concurrency
        pipeline.drainTimeout = .seconds(command.drainTimeout)
        pipeline.requestTimeout = .seconds(command.requestTimeout)
        pipeline.commitInterval = .seconds(command.commitInterval)
        pipeline.maxEventBytes = command.maxEventBytes
        pipeline.maxBufferedPerPartition = command.maxBuffered
        pipeline.maxBufferedTotal = command.maxBuffered * 4
        pipeline.maxBufferedBytes = command.maxBufferedBytes
        pipeline.maxUncommitted = Int64(command.maxUncommitted)
        pipeline.commitMetadataLimit = command.commitMetadataMaxBytes
        pipeline.delivery = command.delivery
        pipeline.batchMaxEvents = command.batchMaxEvents
        pipeline.batchMaxBytes = command.batchMaxBytes
        pipeline.batchLinger = .milliseconds(Int64((command.batchLinger * 1000).rounded()))
        pipeline.retryPolicy.budget = command.retryBudget == 0 ? nil : .seconds(command.retryBudget)
        self.pipeline = pipeline
        self.metricsPort = command.metricsPort > 0 ? command.metricsPort : nil
        self.writeKeyFile = command.writeKeyFile
    }

    /// The write key from `--write-key-file` or `JUNE_WRITE_KEY`; never from a plain flag.
    static func writeKey(file: String?, environment: [String: String]) throws -> String {
        if let file {
            return try writeKey(file: file)
        }
        guard let key = environment["JUNE_WRITE_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty
        else {
            throw Invalid(description: "missing June write key: set JUNE_WRITE_KEY or pass --write-key-file PATH")
        }
        return key
    }

    /// The write key in `file` (surrounding whitespace removed), e.g. a mounted Kubernetes secret.
    static func writeKey(file: String) throws -> String {
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw Invalid(description: "cannot read --write-key-file \(file)")
        }
        let key = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw Invalid(description: "--write-key-file \(file) is empty") }
        return key
    }

    /// Connection and security properties apply to the dead-letter producer too; consumer tuning does not.
    static func isSharedClientProperty(_ key: String) -> Bool {
        ["security.", "ssl.", "sasl.", "client.", "socket.", "broker.", "metadata.", "bootstrap.", "debug", "log"]
            .contains { key.hasPrefix($0) }
    }
}
