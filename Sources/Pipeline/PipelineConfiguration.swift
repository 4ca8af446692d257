import JuneClient
import JuneTransform

/// Settings of the relay pipeline, with the defaults the CLI documents.
public struct PipelineConfiguration: Sendable {
    /// How events go to June: one request per event on RudderStack's per-event endpoints, or batches.
    public enum Delivery: String, Sendable, CaseIterable {
        case single
        case batch
    }

    /// Input topics. Required.
    public var topics: [String]
    /// Dead-letter topic. Default: `<first input topic>.dlq`.
    public var deadLetterTopic: String
    /// Maximum June requests (and dead-letter writes) in flight per process. Default: 256.
    public var maxInFlight = 256
    /// How the in-flight limit is set: learned from June's answers between 1 and `maxInFlight`
    /// (`.adaptive`), or `maxInFlight` always (`.fixed`). Default: adaptive.
    public var concurrency: ConcurrencyMode = .adaptive
    /// How long a revoke or a shutdown waits for in-flight requests before committing. Default: 10 s.
    public var drainTimeout: Duration = .seconds(10)
    /// The deadline of one June request (the client's `requestTimeout`): a job of several requests (a
    /// batch's linger and split halves) ends within it from when it was taken. Default: 10 s.
    public var requestTimeout: Duration = .seconds(10)
    /// How often moved offsets are committed. Default: 1 s.
    public var commitInterval: Duration = .seconds(1)
    /// Unfinished records per partition before that partition is paused. Default: 5,000.
    public var maxBufferedPerPartition = 5_000
    /// Unfinished records in total before the fetch loop stops polling; after `maxThrottle` without
    /// draining below it, every partition is paused instead. Default: 20,000 (4 × per partition).
    public var maxBufferedTotal = 20_000
    /// Bytes held for unfinished records (values plus request bodies) before the fetch loop stops
    /// polling, per process. Default: 32 MiB (the 16 KB-event drill, 40,000 events at 500 ms June
    /// latency, peaks below 300 MB RSS with it; see docs/performance.md).
    public var maxBufferedBytes = PipelineConfiguration.defaultMaxBufferedBytes
    /// Done-but-uncommittable offsets per partition (waiting behind an unfinished one) before that
    /// partition is paused. Default: 1,000,000.
    public var maxUncommitted: Int64 = 1_000_000
    /// Longest stretch without polling while the whole buffer is full. Default: 10 s.
    public var maxThrottle: Duration = .seconds(10)
    /// Records taken from librdkafka per poll. Default: 1,000.
    public var pollBatchSize = 1_000
    /// How long one poll waits for the first record. Default: 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Retry backoff and budget for June requests. Default: 200 ms first, 30 s cap, 15 min budget.
    public var retryPolicy = RetryPolicy()
    /// Consecutive retryable failures, with no answer from June in between, that make an outage. Default: 10.
    public var outageThreshold = 10
    /// Probe spacing while June is unavailable: starts at `probeIntervalMin`, doubles up to
    /// `probeIntervalMax`. Defaults: 0.5 s and 5 s.
    public var probeIntervalMin: Duration = .milliseconds(500)
    public var probeIntervalMax: Duration = .seconds(5)
    /// Largest accepted record value, in bytes; larger records are dead-lettered. Default: 1 MiB.
    public var maxEventBytes = JuneTransformer.defaultMaxEventBytes
    /// Largest commit metadata string (the broker's `offset.metadata.max.bytes`). Default: 4096.
    public var commitMetadataLimit = 4096
    /// Single or batch delivery. Default: single.
    public var delivery = Delivery.single
    /// Batch limits: items per request, body bytes, and how long a batch waits for more events after its
    /// first one was ready. Defaults: 100, 475,000, 50 ms.
    public var batchMaxEvents = 100
    public var batchMaxBytes = 475_000
    public var batchLinger: Duration = .milliseconds(50)
    /// An event whose batch item is larger than this goes alone to its per-event endpoint. 32 KB.
    public var batchItemLimit = 32 * 1024
    /// The fetch loop must turn at least this often, or `/healthz` reports the process as wedged. Default: 60 s.
    public var watchdogTimeout: Duration = .seconds(60)

    public static let defaultMaxBufferedBytes = 32 * 1024 * 1024

    public init(topics: [String], deadLetterTopic: String? = nil) {
        self.topics = topics
        self.deadLetterTopic = deadLetterTopic ?? "\(topics.first ?? "events").dlq"
    }
}
