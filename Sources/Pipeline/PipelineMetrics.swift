import JuneTransform
import Kafka
import Metrics
import RelayFormats
import Synchronization

/// The catalog of every metric the relay emits (README, "Metrics"). Objects are created once per label set and
/// cached; labels are bounded (topic, partition, type, outcome, reason), never user ids or event names.
///
/// | name | type | labels | help |
/// | --- | --- | --- | --- |
/// | `relay_records_consumed_total` | counter | topic, partition | records read from Kafka |
/// | `relay_records_delivered_total` | counter | type | events June accepted (2xx) |
/// | `relay_records_dead_lettered_total` | counter | reason | records written to the dead-letter topic |
/// | `relay_june_retries_total` | counter | — | June requests that will be retried |
/// | `relay_june_request_duration_seconds` | histogram | type, outcome | June request latency |
/// | `relay_inflight_requests` | gauge | — | June requests (single events or batches) and dead-letter writes in flight |
/// | `relay_buffered_records` | gauge | — | unfinished records (queued, in flight, waiting for a retry) |
/// | `relay_committed_offset` | gauge | topic, partition | last committed offset |
/// | `relay_consumer_lag` | gauge | topic, partition | high watermark minus committed offset |
/// | `relay_june_outage` | gauge | — | 1 while June is considered down |
/// | `relay_rebalances_total` | counter | kind (assign, revoke) | partition assignment changes |
/// | `relay_commit_failures_total` | counter | — | offset commits that failed |
/// | `relay_dead_letter_failures_total` | counter | — | dead-letter writes that failed (and are retried) |
/// | `relay_assigned_partitions` | gauge | — | partitions currently assigned |
/// | `relay_buffered_bytes` | gauge | — | bytes held for unfinished records (values and request bodies) |
/// | `relay_uncommitted_offsets` | gauge | topic, partition | done offsets waiting behind an unfinished one |
/// | `relay_oldest_pending_seconds` | gauge | topic, partition | age of the oldest unfinished record |
/// | `relay_records_skipped_total` | counter | topic, partition | records skipped on assignment: done per the commit metadata |
/// | `relay_june_refused` | gauge | status | 1 while June refuses the relay with this status |
/// | `relay_june_probes_total` | counter | — | probe requests sent while June was unavailable |
/// | `relay_dead_letter_values_omitted_total` | counter | — | dead letters written without their value (too large) |
/// | `relay_producer_replacements_total` | counter | — | fatal dead-letter producers replaced |
/// | `relay_june_batch_events` | histogram | — | events per June request |
/// | `relay_june_concurrency_limit` | gauge | — | June requests that may be outstanding (`--concurrency`: learned, or `--max-in-flight`) |
/// | `relay_june_rtt_baseline_seconds` | gauge | — | the concurrency limiter's round-trip-time baseline (moving average) |
/// | `relay_commit_metadata_ignored_total` | counter | reason | committed metadata not used at assignment (another base or partition, old, malformed, foreign) |
public final class PipelineMetrics: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case delivered, retryable, rejected, refused
    }

    private struct PartitionMetrics: Sendable {
        let consumed: Counter
        let committed: Gauge
        let lag: Gauge
        let uncommitted: Gauge
        let oldestPending: Gauge
        let skipped: Counter
    }

    private let partitions = Mutex<[KafkaTopicPartition: PartitionMetrics]>([:])
    private let deliveredByType: [JuneEventType: Counter]
    private let durations: [JuneEventType: [Outcome: Timer]]
    private let deadLettered: [DeadLetterReason: Counter]
    private let metadataIgnored: [OffsetCommitMetadata.IgnoredReason: Counter]
    /// `relay_june_request_duration_seconds{type="batch"}`: batch requests carry events of several types.
    private let batchDurations: [Outcome: Timer]
    let retries = Counter(label: "relay_june_retries_total")
    let inFlight = Gauge(label: "relay_inflight_requests")
    let buffered = Gauge(label: "relay_buffered_records")
    let outage = Gauge(label: "relay_june_outage")
    let assigned = Gauge(label: "relay_assigned_partitions")
    let assignments = Counter(label: "relay_rebalances_total", dimensions: [("kind", "assign")])
    let revocations = Counter(label: "relay_rebalances_total", dimensions: [("kind", "revoke")])
    private let commitFailures = Counter(label: "relay_commit_failures_total")
    let deadLetterFailures = Counter(label: "relay_dead_letter_failures_total")
    let bufferedBytes = Gauge(label: "relay_buffered_bytes")
    let probes = Counter(label: "relay_june_probes_total")
    let valuesOmitted = Counter(label: "relay_dead_letter_values_omitted_total")
    let producerReplacements = Counter(label: "relay_producer_replacements_total")
    let batchEvents = Recorder(label: "relay_june_batch_events")
    let concurrencyLimit = Gauge(label: "relay_june_concurrency_limit")
    let rttBaseline = Gauge(label: "relay_june_rtt_baseline_seconds")
    /// The refusal statuses June answers with; others (other 3xx) get their gauge when first seen.
    static let commonRefusalStatuses = [301, 302, 307, 308, 401, 403, 404, 405, 407, 410]
    private let refused = Mutex<[String: Gauge]>([:])
    /// Process-wide totals readable in-process (demo progress, summaries), beside the exported metrics.
    private let deliveredTotal = Atomic<Int>(0)
    private let deadLetteredTotal = Atomic<Int>(0)
    private let commitFailuresTotal = Atomic<Int>(0)
    private let metadataIgnoredTotal = Atomic<Int>(0)

    public var deliveredCount: Int { deliveredTotal.load(ordering: .relaxed) }
    public var deadLetteredCount: Int { deadLetteredTotal.load(ordering: .relaxed) }
    public var commitFailureCount: Int { commitFailuresTotal.load(ordering: .relaxed) }
    public var metadataIgnoredCount: Int { metadataIgnoredTotal.load(ordering: .relaxed) }

    public init() {
        let types: [JuneEventType] = [.identify, .track, .group, .page]
        var delivered: [JuneEventType: Counter] = [:]
        var durations: [JuneEventType: [Outcome: Timer]] = [:]
        for type in types {
            delivered[type] = Counter(label: "relay_records_delivered_total", dimensions: [("type", type.rawValue)])
            var byOutcome: [Outcome: Timer] = [:]
            for outcome in Outcome.allCases {
                byOutcome[outcome] = Timer(
                    label: "relay_june_request_duration_seconds",
                    dimensions: [("type", type.rawValue), ("outcome", outcome.rawValue)],
                    preferredDisplayUnit: .seconds
                )
            }
            durations[type] = byOutcome
        }
        self.deliveredByType = delivered
        self.durations = durations
        var deadLettered: [DeadLetterReason: Counter] = [:]
        for reason in DeadLetterReason.allCases {
            deadLettered[reason] = Counter(label: "relay_records_dead_lettered_total", dimensions: [("reason", reason.rawValue)])
        }
        self.deadLettered = deadLettered
        var metadataIgnored: [OffsetCommitMetadata.IgnoredReason: Counter] = [:]
        for reason in OffsetCommitMetadata.IgnoredReason.allCases {
            metadataIgnored[reason] = Counter(label: "relay_commit_metadata_ignored_total", dimensions: [("reason", reason.rawValue)])
        }
        self.metadataIgnored = metadataIgnored
        var batchDurations: [Outcome: Timer] = [:]
        for outcome in Outcome.allCases {
            batchDurations[outcome] = Timer(
                label: "relay_june_request_duration_seconds",
                dimensions: [("type", "batch"), ("outcome", outcome.rawValue)],
                preferredDisplayUnit: .seconds
            )
        }
        self.batchDurations = batchDurations
        for label in Self.commonRefusalStatuses.map(String.init) + [PipelineMode.rejectingAllLabel] { refusedGauge(label).record(0) }
        outage.record(0)
    }

    private func refusedGauge(_ label: String) -> Gauge {
        refused.withLock { gauges in
            if let gauge = gauges[label] { return gauge }
            let gauge = Gauge(label: "relay_june_refused", dimensions: [("status", label)])
            gauges[label] = gauge
            return gauge
        }
    }

    /// Sets `relay_june_refused{status}` to 1 for `label` (an HTTP status, or `rejecting-all`; nil:
    /// none) and 0 for every other one.
    func recordRefusal(label: String?) {
        if let label { _ = refusedGauge(label) }
        let gauges = refused.withLock { $0 }
        for (other, gauge) in gauges { gauge.record(other == label ? 1 : 0) }
    }

    func recordSkipped(_ partition: KafkaTopicPartition, count: Int) {
        metrics(for: partition).skipped.increment(by: count)
    }

    func recordPartitionBacklog(_ partition: KafkaTopicPartition, uncommitted: Int64, oldestPending: Duration?) {
        let partitionMetrics = metrics(for: partition)
        partitionMetrics.uncommitted.record(uncommitted)
        partitionMetrics.oldestPending.record(oldestPending.map { Double($0.nanoseconds) / 1e9 } ?? 0)
    }

    func recordConsumed(_ partition: KafkaTopicPartition, count: Int = 1) {
        metrics(for: partition).consumed.increment(by: count)
    }

    func recordDelivered(_ type: JuneEventType) {
        deliveredByType[type]?.increment()
        deliveredTotal.add(1, ordering: .relaxed)
    }

    func recordDeadLettered(_ reason: DeadLetterReason) {
        deadLettered[reason]?.increment()
        deadLetteredTotal.add(1, ordering: .relaxed)
    }

    func recordMetadataIgnored(_ reason: OffsetCommitMetadata.IgnoredReason) {
        metadataIgnored[reason]?.increment()
        metadataIgnoredTotal.add(1, ordering: .relaxed)
    }

    func recordCommitFailure() {
        commitFailures.increment()
        commitFailuresTotal.add(1, ordering: .relaxed)
    }

    func recordRequest(_ type: JuneEventType, outcome: Outcome, duration: Duration) {
        durations[type]?[outcome]?.recordNanoseconds(duration.nanoseconds)
    }

    func recordBatchRequest(outcome: Outcome, duration: Duration, events: Int) {
        batchDurations[outcome]?.recordNanoseconds(duration.nanoseconds)
        batchEvents.record(events)
    }

    func recordCommitted(_ partition: KafkaTopicPartition, offset: Int64) {
        metrics(for: partition).committed.record(offset)
    }

    /// A revoked partition's per-partition gauges go to 0: its new owner reports it now, and sums over
    /// the group must not count it twice.
    func clearPartition(_ partition: KafkaTopicPartition) {
        let partitionMetrics = metrics(for: partition)
        partitionMetrics.lag.record(0)
        partitionMetrics.uncommitted.record(0)
        partitionMetrics.oldestPending.record(0)
    }

    func recordLag(_ partition: KafkaTopicPartition, lag: Int64) {
        metrics(for: partition).lag.record(lag)
    }

    private func metrics(for partition: KafkaTopicPartition) -> PartitionMetrics {
        partitions.withLock { cache in
            if let existing = cache[partition] { return existing }
            let dimensions = [("topic", partition.topic), ("partition", String(partition.partition))]
            let created = PartitionMetrics(
                consumed: Counter(label: "relay_records_consumed_total", dimensions: dimensions),
                committed: Gauge(label: "relay_committed_offset", dimensions: dimensions),
                lag: Gauge(label: "relay_consumer_lag", dimensions: dimensions),
                uncommitted: Gauge(label: "relay_uncommitted_offsets", dimensions: dimensions),
                oldestPending: Gauge(label: "relay_oldest_pending_seconds", dimensions: dimensions),
                skipped: Counter(label: "relay_records_skipped_total", dimensions: dimensions)
            )
            cache[partition] = created
            return created
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
