import JuneClient

/// Settings of the relay pipeline, with the defaults the CLI documents.
public struct PipelineConfiguration: Sendable {
    /// Input topics. Required.
    public var topics: [String]
    /// Dead-letter topic. Default: `<first input topic>.dlq`.
    public var deadLetterTopic: String
    /// Maximum June requests (and dead-letter writes) in flight per process. Default: 256.
    public var maxInFlight = 256
    /// How long a revoke or a shutdown waits for in-flight events before committing. Default: 10 s.
    public var drainTimeout: Duration = .seconds(10)
    /// How often moved watermarks are committed. Default: 1 s.
    public var commitInterval: Duration = .seconds(1)
    /// Buffered-but-not-committable records per partition before that partition is paused. Default: 5,000.
    public var maxBufferedPerPartition = 5_000
    /// Buffered-but-not-committable records in total before the fetch loop stops polling; after
    /// `maxThrottle` without draining below it, every partition is paused instead. Default: 20,000.
    public var maxBufferedTotal = 20_000
    /// Longest stretch without polling while the total buffer is full. Default: 10 s.
    public var maxThrottle: Duration = .seconds(10)
    /// Records taken from librdkafka per poll. Default: 1,000.
    public var pollBatchSize = 1_000
    /// How long one poll waits for the first record. Default: 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Retry backoff and budget for June requests. Default: 200 ms first, 30 s cap, 15 min budget.
    public var retryPolicy = RetryPolicy()
    /// Longest wait between probes while June is in an outage. Default: 2 s.
    public var outageProbeInterval: Duration = .seconds(2)
    /// Pause between probe requests while June is in an outage. Default: 500 ms.
    public var outageProbeSpacing: Duration = .milliseconds(500)
    /// Largest accepted record value, in bytes; larger records are dead-lettered. Default: 1 MiB.
    public var maxEventBytes = 1_048_576

    public init(topics: [String], deadLetterTopic: String? = nil) {
        self.topics = topics
        self.deadLetterTopic = deadLetterTopic ?? "\(topics.first ?? "events").dlq"
    }
}
