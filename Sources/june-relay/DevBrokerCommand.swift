import ArgumentParser
import Foundation
import Kafka
import Logging

/// `june-relay dev-broker`: librdkafka's mock cluster on loopback, for development, demos and tests.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run an in-memory Kafka cluster (librdkafka's mock cluster) on loopback until SIGINT/SIGTERM."
    )

    @Option(help: "Number of brokers.")
    var brokers = DevBroker.defaultBrokers

    @Option(help: "Partitions of each created topic.")
    var partitions = DevBroker.defaultPartitions

    @Option(help: "Topic to create (repeatable).")
    var topic: [String] = []

    @Option(help: "Also write the bootstrap list to this file.")
    var bootstrapFile: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay.dev-broker")
        let cluster = try DevBroker.start(brokers: brokers, topics: topic, partitions: partitions, logger: logger)
        let bootstrap = cluster.bootstrapServers
        Console.printLine(bootstrap)
        if let bootstrapFile {
            try Data((bootstrap + "\n").utf8).write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
        }
        try await ServeUntilTerminated.run([HoldUntilShutdown()], logger: logger)
        logger.info("dev-broker stopping")
        withExtendedLifetime(cluster) {}
    }
}
