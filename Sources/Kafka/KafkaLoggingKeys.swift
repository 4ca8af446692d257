/// Metadata keys the Kafka module puts on its log lines.
public enum KafkaLoggingKeys {
    /// The librdkafka client name (`rd_kafka_name`, e.g. `rdkafka#consumer-1`).
    public static let client = "kafka.client"
    /// The librdkafka log facility (e.g. `CGRPOP`, `FETCH`).
    public static let facility = "kafka.facility"
    /// The librdkafka error or result code (raw `rd_kafka_resp_err_t`).
    public static let errorCode = "kafka.error.code"
    /// A human-readable error reason.
    public static let errorReason = "kafka.error.reason"
    /// A topic name.
    public static let topic = "kafka.topic"
    /// A partition number.
    public static let partition = "kafka.partition"
    /// A record offset.
    public static let offset = "kafka.offset"
    /// Several topic-partitions (rendered `topic[p], ...`).
    public static let partitions = "kafka.partitions"
    /// A consumer group id.
    public static let groupID = "kafka.group.id"
    /// The rebalance protocol (`COOPERATIVE` or `EAGER`).
    public static let rebalanceProtocol = "kafka.rebalance.protocol"
    /// The bootstrap servers.
    public static let bootstrapServers = "kafka.bootstrap.servers"
}
