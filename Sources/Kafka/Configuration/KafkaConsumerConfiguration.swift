/// Settings of a ``KafkaConsumer`` (a member of a consumer group).
///
/// Offsets are only ever committed explicitly: ``properties()`` always turns librdkafka's
/// auto-commit and auto-store off, whatever `additionalProperties` says.
public struct KafkaConsumerConfiguration: Sendable {
    /// Where to start when the group has no committed offset for a partition.
    public enum AutoOffsetReset: String, Sendable, CaseIterable {
        /// Start at the oldest record still in the partition.
        case earliest
        /// Start after the newest record (only new records are read).
        case latest
        /// Fail: the consumer reports an error for the partition.
        case error
    }

    /// `host:port[,host:port]...` of one or more brokers. librdkafka: `bootstrap.servers`. No default.
    public var bootstrapServers: String
    /// The consumer group id. librdkafka: `group.id`. No default.
    public var groupID: String
    /// Where to start without a committed offset. librdkafka: `auto.offset.reset`. Default: `.earliest`.
    public var autoOffsetReset: AutoOffsetReset = .earliest
    /// The partition assignment strategy: `"cooperative-sticky"` (incremental rebalances) or an eager
    /// one (`"range"`, `"roundrobin"`). librdkafka: `partition.assignment.strategy`.
    /// Default: `"cooperative-sticky"`.
    public var assignmentStrategy: String = "cooperative-sticky"
    /// A member that sends no heartbeat for this long is removed from the group.
    /// librdkafka: `session.timeout.ms`. Default: 45 seconds.
    public var sessionTimeout: Duration = .seconds(45)
    /// How often the member heartbeats to the group coordinator. librdkafka: `heartbeat.interval.ms`.
    /// Default: 3 seconds.
    public var heartbeatInterval: Duration = .seconds(3)
    /// Upper bound of librdkafka's prefetched-message queue (one queue for the whole consumer), in KiB.
    /// librdkafka: `queued.max.messages.kbytes` (its own default is 65536). Default: 32768 (32 MiB).
    /// Measured with `make bench` (batch delivery, 1M-event zstd backlog): 16 MiB starved the relay at
    /// ~37,000 events/s (the queue ran empty between fetches), 32 MiB and 64 MiB both gave ~61,000/s;
    /// 32 MiB keeps the 16 KB-event memory drill below 300 MB.
    public var maxPrefetchKilobytes = 32_768
    /// Messages per partition librdkafka tries to keep prefetched. librdkafka: `queued.min.messages` (its own
    /// default is 100,000, which for compressed topics means hundreds of MiB once decompressed).
    /// Default: 50,000. Measured with `make bench` (1M-event zstd backlog, 8 partitions): 10,000 capped the
    /// relay at ~15,000 events/s because librdkafka 2.0.2 refills a partition that crossed the threshold
    /// only on a later broker-thread wakeup; 50,000 gave ~24,000/s. `maxPrefetchKilobytes` still bounds
    /// the memory.
    public var minPrefetchMessagesPerPartition = 50_000
    /// Any librdkafka consumer property (TLS, SASL, tuning), applied after the typed settings above.
    /// `enable.auto.commit`, `enable.auto.offset.store` and `enable.partition.eof` cannot be changed.
    /// Default: empty.
    public var additionalProperties: [String: String] = [:]
    /// How often librdkafka reports its statistics to ``statisticsHandler``. librdkafka:
    /// `statistics.interval.ms`, set only when a handler is (an `additionalProperties` entry wins).
    /// Default: 15 seconds.
    public var statisticsInterval: Duration = .seconds(15)
    /// Receives each statistics report, on the consumer's poll queue (inside a poll): keep it short.
    /// Default: `nil` (librdkafka computes no statistics).
    public var statisticsHandler: (@Sendable (KafkaStatistics) -> Void)?

    public init(bootstrapServers: String, groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }
}
