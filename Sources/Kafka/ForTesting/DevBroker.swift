import Logging

/// What `june-relay dev-broker` runs: a ``KafkaMockCluster`` with the requested topics.
///
/// ```swift
/// let broker = try DevBroker.start(topics: ["events"], logger: logger)
/// print(broker.bootstrapServers)          // first stdout line
/// withExtendedLifetime(broker) {}          // the cluster lives until `broker` is released
/// ```
public enum DevBroker {
    /// Brokers in the dev cluster. Default of `--brokers`: 3.
    public static let defaultBrokers = 3
    /// Partitions of each `--topic`. Default of `--partitions`: 4 (also what the mock cluster gives a topic
    /// it auto-creates on produce).
    public static let defaultPartitions = 4

    /// Starts a mock cluster and creates `topics` with `partitions` partitions each.
    public static func start(
        brokers: Int = defaultBrokers,
        topics: [String] = [],
        partitions: Int = defaultPartitions,
        logger: Logger
    ) throws(KafkaError) -> KafkaMockCluster {
        guard brokers > 0 else { throw KafkaError.invalidArgument("--brokers must be at least 1") }
        guard partitions > 0 else { throw KafkaError.invalidArgument("--partitions must be at least 1") }
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for topic in topics {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(brokers, 3))
        }
        logger.info(
            "Dev broker started",
            metadata: [
                KafkaLoggingKeys.bootstrapServers: "\(cluster.bootstrapServers)",
                KafkaLoggingKeys.topic: "\(topics.joined(separator: ","))",
            ]
        )
        return cluster
    }
}
