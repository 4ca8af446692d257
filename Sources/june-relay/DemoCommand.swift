import ArgumentParser
import Foundation
import JuneClient
import JuneStub
import Kafka
import Logging
import Pipeline

/// `june-relay demo`: one command that shows the whole product. It starts the embedded broker
/// and the June stub, produces numbered sample events (some invalid), runs the real pipeline on them
/// with a progress line, and prints a summary.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole pipeline locally: embedded broker, June stub, sample events, progress, summary."
    )

    @Option(help: "Number of sample events.")
    var events = 20_000

    @Option(help: "Number of distinct users.")
    var users = 1_000

    @Option(help: "June stub latency in milliseconds.")
    var latencyMs = 5

    @Option(help: "Fraction of June requests the stub answers 503 (the relay retries them).")
    var failRate = 0.01

    @Option(help: "Make every Nth event invalid (0 = none).")
    var invalidEvery = 97

    @OptionGroup var logging: LoggingOptions

    static let topic = "demo-events"
    static let dlqTopic = "demo-events.dlq"

    func run() async throws {
        var quiet = logging
        if quiet.logLevel == .info { quiet.logLevel = .warning }
        let logger = quiet.bootstrap(label: "june-relay.demo")

        Console.printLine("june-relay demo: \(events) events from \(users) users, June stub latency \(latencyMs) ms, \(Int(failRate * 100))% 503s")
        let cluster = try DevBroker.start(brokers: 3, topics: [Self.topic, Self.dlqTopic], partitions: 8, logger: logger)
        Console.printLine("  embedded Kafka (librdkafka mock cluster): \(cluster.bootstrapServers), topic \(Self.topic) with 8 partitions")
        let stub = JuneStub(
            configuration: JuneStubConfiguration(port: 0, latency: .milliseconds(latencyMs), failRate: failRate),
            logger: logger
        )
        try await stub.start()
        Console.printLine("  June stub: http://127.0.0.1:\(stub.port)")
        let samples = try await self.produceSamples(to: cluster.bootstrapServers, logger: logger)

        // The relay itself, built exactly as `june-relay run` builds it from these flags.
        let run = try RunCommand.parse([
            "--brokers", cluster.bootstrapServers, "--topic", Self.topic, "--dlq-topic", Self.dlqTopic, "--group", "june-relay-demo",
            "--june-url", "http://127.0.0.1:\(stub.port)", "--metrics-port", "0",
            "--kafka-config", "topic.metadata.refresh.interval.ms=1000",
        ])
        let settings = try RelaySettings(command: run, environment: ["JUNE_WRITE_KEY": "demo-write-key"])
        let relay = try await RelayServices.build(settings: settings, registry: RelayServices.bootstrapMetrics(), logger: logger)
        let started = ContinuousClock.now
        let running = Task { try await relay.run(logger: logger) }
        try await Self.showProgress(of: relay, total: samples.produced, since: started)
        let elapsed = ContinuousClock.now - started
        relay.pipeline.requestStop()
        try await running.value

        let stats = stub.stats()
        let dlqRecords = try await KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: logger)
            .storedRecords(in: Self.dlqTopic, timeout: .seconds(5))
        try await stub.shutdown()
        try Self.summarize(samples: samples, stats: stats, dlqRecords: dlqRecords, elapsed: elapsed)
    }

    private func produceSamples(to brokers: String, logger: Logger) async throws -> SampleEvents {
        var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: brokers)
        producerConfiguration.linger = .milliseconds(1)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        var samples = SampleEvents(users: users, invalidEvery: invalidEvery)
        let produceStart = ContinuousClock.now
        try await DevProduceCommand.produce(count: events, samples: &samples, topic: Self.topic, producer: producer)
        Console.printLine(
            "  produced \(samples.produced) events (\(samples.invalid) invalid) in \(Self.seconds(ContinuousClock.now - produceStart)) s")
        return samples
    }

    /// A progress line, redrawn every 250 ms until every event is delivered or dead-lettered (at most 10 minutes).
    private static func showProgress(of relay: RelayServices, total: Int, since started: ContinuousClock.Instant) async throws {
        let metrics = relay.metrics
        var lastLine = ""
        while metrics.deliveredCount + metrics.deadLetteredCount < total {
            try await Task.sleep(for: .milliseconds(250))
            let snapshot = relay.pipeline.snapshot
            let done = metrics.deliveredCount + metrics.deadLetteredCount
            let elapsed = ContinuousClock.now - started
            let rate = Double(done) / max(0.001, elapsed / .seconds(1))
            let line = String(
                format: "  [%@] %6d/%d done · delivered %6d · dead-lettered %4d · in flight %3d · %6.0f events/s%@",
                Self.bar(done, total), done, total, metrics.deliveredCount, metrics.deadLetteredCount, snapshot.inFlight, rate,
                snapshot.inOutage ? " · JUNE OUTAGE" : ""
            )
            if line != lastLine {
                FileHandle.standardOutput.write(Data(("\r" + line).utf8))
                lastLine = line
            }
            if elapsed > .seconds(600) {
                Console.printLine("\n  giving up after 10 minutes")
                break
            }
        }
        Console.printLine("")
    }

    private static func summarize(samples: SampleEvents, stats: JuneStubStats, dlqRecords: Int64, elapsed: Duration) throws {
        let total = samples.produced
        let valid = total - samples.invalid
        let ordered = stats.orderViolations == 0
        let complete = stats.uniqueAccepted == valid && Int(dlqRecords) == samples.invalid
        Console.printLine(
            """

            Summary
              events produced     \(total) (\(samples.invalid) invalid)
              delivered to June   \(stats.uniqueAccepted) of \(valid) valid (duplicates \(stats.duplicates), 503s retried \(stats.status["503"] ?? 0))
              dead-lettered       \(dlqRecords) records in \(Self.dlqTopic) (expected \(samples.invalid))
              per-user order      \(ordered ? "kept" : "VIOLATED \(stats.orderViolations) times") across \(stats.users) users
              throughput          \(Int(Double(total) / max(0.001, elapsed / .seconds(1)))) events/s (\(Self.seconds(elapsed)) s, debug builds are slower)
              result              \(complete && ordered ? "OK" : "PROBLEM")
            """)
        if !(complete && ordered) { throw ExitCode(1) }
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", duration / .seconds(1))
    }

    private static func bar(_ done: Int, _ total: Int) -> String {
        let width = 20
        let filled = total == 0 ? width : min(width, done * width / total)
        return String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    }
}
