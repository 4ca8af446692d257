import ArgumentParser
import Kafka
import Logging
import RelayOperations

/// `june-relay dlq redrive`: write dead letters back to a topic (docs/design.md, "Dead letters").
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Work with the dead-letter topic.",
        subcommands: [DLQRedriveCommand.self]
    )
}

/// `june-relay dlq redrive --brokers B --from DLQ_TOPIC --to TOPIC [--limit N]`.
struct DLQRedriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redrive",
        abstract: "Re-produce dead-lettered records to a topic, without the june-relay.* headers.",
        discussion: """
            Reads DLQ_TOPIC up to its end offsets at start and writes each record to TOPIC with the same key and \
            value and its original headers (every june-relay.* header removed), waiting for every \
            acknowledgement. Progress is committed to the consumer group june-relay-redrive-<DLQ_TOPIC>, so a \
            rerun (or a run after --limit) continues where the last one stopped instead of redriving twice. To \
            redrive everything again, reset that group:
              june-relay offsets reset --group june-relay-redrive-<DLQ_TOPIC> --topic <DLQ_TOPIC> --to-earliest
            """
    )

    @OptionGroup var kafka: KafkaToolOptions

    @Option(help: "Dead-letter topic to read.")
    var from: String

    @Option(help: "Topic to write the records to (usually the relay's input topic).")
    var to: String

    @Option(help: "Redrive at most N records (the rest are left for the next run).")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if from == to { throw ValidationError("--from and --to must name different topics") }
    }

    func run() async throws {
        let logger = kafka.bootstrapLogging(label: "june-relay.dlq")
        let redrive = DeadLetterRedrive(bootstrapServers: kafka.brokers, kafkaProperties: try kafka.kafkaProperties(), logger: logger)
        var options = RedriveOptions(from: from, to: to, limit: limit)
        options.timeout = kafka.timeoutDuration
        let report = try await redrive.run(options)
        Console.printLine(report.summary(from: from, to: to))
    }
}
