/// Settings of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    /// `host:port[,host:port]...` of one or more brokers. librdkafka: `bootstrap.servers`. No default.
    public var bootstrapServers: String
    /// Idempotent producing (no duplicates or reordering from internal retries).
    /// librdkafka: `enable.idempotence`. `acks` is always `all`. Default: `true`.
    public var idempotence: Bool = true
    /// How long librdkafka may try to deliver a record before reporting a failure.
    /// librdkafka: `message.timeout.ms`. Default: 30 seconds.
    public var messageTimeout: Duration = .seconds(30)
    /// How long to wait for more records to batch them. librdkafka: `linger.ms`. Default: 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// Any librdkafka producer property (TLS, SASL, tuning, compression), applied last. Default: empty.
    public var additionalProperties: [String: String] = [:]

    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }
}
