import Logging

/// librdkafka's in-memory Kafka cluster (`rdkafka_mock.h`), listening on loopback TCP ports.
/// Other clients, also in other processes (e.g. `kcat`), reach it through ``bootstrapServers``.
/// It lives until this object is deinitialised. For development, demos and tests only: it does not
/// support everything a broker does (it answers offsets-by-timestamp lookups with "end", has no
/// DescribeGroups, keeps only the newest 5 MiB of each partition, refuses standalone commits for a group
/// that had members).
public final class KafkaMockCluster: Sendable {
    /// Kafka API keys for ``pushRequestErrors(apiKey:errors:)``.
    public enum APIKey {
        public static let produce: Int16 = 0
        public static let fetch: Int16 = 1
        public static let listOffsets: Int16 = 2
        public static let metadata: Int16 = 3
        public static let offsetCommit: Int16 = 8
        public static let offsetFetch: Int16 = 9
        public static let findCoordinator: Int16 = 10
        public static let joinGroup: Int16 = 11
        public static let heartbeat: Int16 = 12
        public static let syncGroup: Int16 = 14
    }

    private let cluster: RDKafkaMockCluster

    /// Whether a cluster id (``KafkaAdmin/clusterID(timeout:)``) is one librdkafka's mock cluster
    /// generates (`mockCluster<hex>`): the brokers are a `dev-broker` or an in-process mock.
    public static func isMockClusterID(_ id: String) -> Bool {
        id.hasPrefix("mockCluster")
    }

    /// Starts a cluster of `brokers` brokers (ids 1...brokers).
    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        precondition(brokers > 0, "a mock cluster needs at least one broker")
        cluster = try RDKafkaMockCluster(brokers: brokers, context: RDKafkaCallbackContext(logger: logger))
    }

    /// `127.0.0.1:port,...` of the brokers.
    public var bootstrapServers: String { cluster.bootstrapServers }

    /// Creates a topic (a produce to an unknown topic also auto-creates it with 4 partitions).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try cluster.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Makes the next `errors.count` requests with `apiKey` fail with these error codes, in order
    /// (`rd_kafka_mock_push_request_errors_array`).
    public func pushRequestErrors(apiKey: Int16, errors: [KafkaError.Code]) {
        cluster.pushRequestErrors(apiKey: apiKey, errors: errors)
    }

    /// Drops the errors still queued for `apiKey`.
    public func clearRequestErrors(apiKey: Int16) {
        cluster.clearRequestErrors(apiKey: apiKey)
    }

    /// Disconnects the broker and refuses new connections to it.
    public func setBrokerDown(_ id: Int32) throws(KafkaError) {
        try cluster.setBrokerDown(id)
    }

    /// Brings a broker back.
    public func setBrokerUp(_ id: Int32) throws(KafkaError) {
        try cluster.setBrokerUp(id)
    }
}
