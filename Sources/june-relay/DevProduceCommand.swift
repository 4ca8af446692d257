import ArgumentParser
import Foundation
import Kafka
import Logging

/// `june-relay dev-produce`: writes numbered sample events to a topic (development, demo and benchmark
/// tool; keyed by user id so each user's events stay in one partition and in order).
struct DevProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-produce",
        abstract: "Produce numbered sample RudderStack events (development and benchmarks)."
    )

    @Option(help: "Kafka bootstrap servers.")
    var brokers: String

    @Option(help: "Topic to write to.")
    var topic: String

    @Option(help: "Number of events.")
    var events = 10_000

    @Option(help: "Number of distinct users.")
    var users = 1_000

    @Option(help: "Make every Nth event invalid (0 = none).")
    var invalidEvery = 0

    @Option(
        help: "Producer compression: none, gzip, snappy, lz4 or zstd. The dev broker keeps only 5 MiB per partition, so a large backlog needs zstd.")
    var compression = "none"

    @Flag(help: "Skewed users, as real traffic is: 20% of the events come from 1% of the users.")
    var skewed = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay.dev-produce")
        var configuration = KafkaProducerConfiguration(bootstrapServers: brokers)
        configuration.linger = .milliseconds(1)
        if compression != "none" {
            // Bigger batches compress better; each key's records are still sent one after the other.
            configuration.linger = .milliseconds(20)
            configuration.additionalProperties = [
                "compression.codec": compression, "batch.size": "4000000", "batch.num.messages": "100000",
            ]
        }
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var samples = SampleEvents(users: users, invalidEvery: invalidEvery, skewed: skewed)
        let started = ContinuousClock.now
        try await Self.produce(count: events, samples: &samples, topic: topic, producer: producer)
        await producer.close()
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print("produced \(samples.produced) events (\(samples.invalid) invalid) to \(topic) in \(String(format: "%.1f", seconds)) s")
    }

    /// Produces in batches of up to 5,000 with ``KafkaProducer/sendInKeyOrder(_:)``: within a batch, each
    /// key's records are sent one after the other (so per-key order holds), different keys concurrently;
    /// batches follow each other.
    static func produce(count: Int, samples: inout SampleEvents, topic: String, producer: KafkaProducer) async throws {
        var remaining = count
        while remaining > 0 {
            let size = min(remaining, 5_000)
            var records: [KafkaProducerRecord] = []
            records.reserveCapacity(size)
            for _ in 0..<size {
                let (key, value) = samples.next()
                records.append(KafkaProducerRecord(topic: topic, key: key, value: value))
            }
            try await producer.sendInKeyOrder(records)
            remaining -= size
        }
    }
}
