import ArgumentParser
import Foundation
import Kafka
import Logging

/// `june-relay dev-broker`: librdkafka's mock cluster on loopback, for development, demos and tests (spec §7).
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run an in-memory Kafka cluster (librdkafka's mock cluster) on loopback until SIGINT/SIGTERM."
    )

    @Option(help: "Number of brokers.")
    var brokers = 3

    @Option(help: "Partitions of each created topic.")
    var partitions = 4

    @Option(help: "Topic to create (repeatable).")
    var topic: [String] = []

    @Option(help: "Also write the bootstrap list to this file.")
    var bootstrapFile: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay.dev-broker")
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for name in topic {
            try cluster.createTopic(name, partitions: partitions)
        }
        let bootstrap = cluster.bootstrapServers
        print(bootstrap)
        fflush(stdout)
        if let bootstrapFile {
            try Data((bootstrap + "\n").utf8).write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
        }
        logger.info("dev-broker running", metadata: ["bootstrap": "\(bootstrap)", "topics": "\(topic)"])
        _ = await SignalWaiter.waitForTermination()
        logger.info("dev-broker stopping")
        withExtendedLifetime(cluster) {}
    }
}
