import ArgumentParser
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging
import Pipeline
import ServiceLifecycle

/// `june-relay run`: the relay itself. Every flag is documented in README.md; every numeric flag is
/// range-checked in `validate()`, so a bad value is a start-up error (exit 2, as every start-up check
/// of relay-spec §8) that names the flag.
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

    @Option(help: "June API base URL (https; http only to a loopback host unless --allow-insecure-http).")
    var juneURL = JuneAPI.defaultBaseURL

    @Flag(help: "Allow a plain http:// June URL to a non-loopback host (the write key travels in clear text).")
    var allowInsecureHTTP = false

    @Option(help: "PEM file of extra trusted root certificates for June (a private CA or a TLS-inspecting proxy).")
    var juneCAFile: String?

    @Option(help: "Maximum June requests (single events or batches) in flight per process: the ceiling of the adaptive limit.")
    var maxInFlight = Self.defaults.maxInFlight

    @Option(
        help:
            "adaptive: learn June's capacity from its answers (start at 8, grow while answers are quick, cut on 429/5xx/timeouts); fixed: always --max-in-flight."
    )
    var concurrency = Self.defaults.concurrency

    @Option(help: "Seconds to wait for in-flight requests on revoke and shutdown (at least --request-timeout).")
    var drainTimeout = Self.defaults.drainTimeout.inSeconds

    @Option(help: "librdkafka property KEY=VALUE (repeatable): TLS, SASL, tuning.")
    var kafkaConfig: [String] = []

    @Option(help: "Port for /metrics, /healthz, /readyz and /status (0 = off).")
    var metricsPort = 9464

    @Option(help: "File holding the June write key (else JUNE_WRITE_KEY); re-read while June refuses the key.")
    var writeKeyFile: String?

    @Option(help: "Seconds of retrying per event before it is dead-lettered (0 = forever).")
    var retryBudget = Self.defaults.retryPolicy.budget?.inSeconds ?? 0

    @Option(help: "June request timeout in seconds, covering the whole exchange.")
    var requestTimeout = Self.defaults.requestTimeout.inSeconds

    @Option(help: "Largest accepted event in bytes; larger ones are dead-lettered.")
    var maxEventBytes = Self.defaults.maxEventBytes

    @Option(help: "Unfinished records per partition before the partition is paused; at 4x that in total the relay stops polling.")
    var maxBuffered = Self.defaults.maxBufferedPerPartition

    @Option(help: "Bytes held for unfinished records (values and request bodies) per process before the relay stops polling.")
    var maxBufferedBytes = Self.defaults.maxBufferedBytes

    @Option(help: "Done offsets per partition waiting behind an unfinished one before the partition is paused.")
    var maxUncommitted = Int(Self.defaults.maxUncommitted)

    @Option(help: "Seconds between offset commits.")
    var commitInterval = Self.defaults.commitInterval.inSeconds

    @Option(help: "Most bytes of done-offset metadata per commit (the broker's offset.metadata.max.bytes; 0 = none).")
    var commitMetadataMaxBytes = Self.defaults.commitMetadataLimit

    @Option(help: "Delivery: single (RudderStack's per-event endpoints) or batch (June's /sdk/batch).")
    var delivery = Self.defaults.delivery

    @Option(help: "Batch mode: most events per request.")
    var batchMaxEvents = Self.defaults.batchMaxEvents

    @Option(help: "Batch mode: most body bytes per request.")
    var batchMaxBytes = Self.defaults.batchMaxBytes

    @Option(help: "Batch mode: seconds a batch waits for more events after its first one was ready.")
    var batchLinger = Self.defaults.batchLinger.inSeconds

    @OptionGroup var logging: LoggingOptions

    /// Every flag's default comes from the configuration type it sets, so the two cannot disagree.
    static let defaults = PipelineConfiguration(topics: [])

    /// The exit code of every start-up error of `run`, bad flags included (relay-spec §8).
    static let startUpError: Int32 = 2

    func validate() throws {
        guard !topic.isEmpty else { throw ValidationError("at least one --topic is required") }
        try Self.check("--max-in-flight", maxInFlight, in: 1...100_000)
        try Self.check("--drain-timeout", drainTimeout, in: 0.001...3_600)
        try Self.check("--retry-budget", retryBudget, in: 0...(30 * 86_400))
        try Self.check("--request-timeout", requestTimeout, in: 0.001...600)
        try Self.check("--commit-interval", commitInterval, in: 0.01...3_600)
        try Self.check("--commit-metadata-max-bytes", commitMetadataMaxBytes, in: 0...(1 << 20))
        try Self.check("--max-event-bytes", maxEventBytes, in: 1...(64 << 20))
        try Self.check("--max-buffered", maxBuffered, in: 1...10_000_000)
        try Self.check("--max-buffered-bytes", maxBufferedBytes, in: (1 << 20)...(1 << 40))
        try Self.check("--max-uncommitted", maxUncommitted, in: 1...1_000_000_000)
        try Self.check("--metrics-port", metricsPort, in: 0...65_535)
        try Self.check("--batch-max-events", batchMaxEvents, in: 1...10_000)
        try Self.check("--batch-max-bytes", batchMaxBytes, in: Self.minimumBatchMaxBytes...(16 << 20))
        try Self.check("--batch-linger", batchLinger, in: 0...60)
        guard requestTimeout <= drainTimeout else {
            throw ValidationError(
                "--request-timeout (\(requestTimeout) s) must not exceed --drain-timeout (\(drainTimeout) s): "
                    + "a revoke must be able to wait for every request it releases"
            )
        }
    }

    /// The smallest `--batch-max-bytes`: an item up to the batch item limit (32 KB) must fit an empty
    /// batch, or a lane whose head is such an item never gets a batch (relay-spec §10).
    static let minimumBatchMaxBytes = Self.defaults.batchItemLimit + JuneBatchBody.envelopeSize

    static func check(_ flag: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    static func check(_ flag: String, _ value: Double, in range: ClosedRange<Double>) throws {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(flag) must be a number of seconds between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay")
        let settings: RelaySettings
        do {
            settings = try RelaySettings(command: self, environment: ProcessInfo.processInfo.environment)
        } catch {
            logger.critical("Invalid configuration", metadata: ["error": "\(error)"])
            throw ExitCode(Self.startUpError)
        }
        try await RelayServices.run(settings: settings, logger: logger)
    }
}

extension PipelineConfiguration.Delivery: ExpressibleByArgument {}
extension ConcurrencyMode: ExpressibleByArgument {}
