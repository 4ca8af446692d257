import JuneTransform
import Kafka
import Metrics
import RelayFormats
import Synchronization

/// The relay's pipeline metrics, created from ``RelayMetricCatalog`` (names, types, labels and help
/// text live there). Objects are created once per label set and cached.
public final class PipelineMetrics: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        case delivered, retryable, rejected, refused
    }

    private struct PartitionMetrics: Sendable {
        let consumed, skipped: Counter
        let committed, lag, uncommitted, oldestPending: Gauge
    }

    private let partitions = Mutex<[KafkaTopicPartition: PartitionMetrics]>([:])
    private let deliveredByType: [JuneEventType: Counter]
    private let durations: [JuneEventType: [Outcome: Timer]]
    private let deadLettered: [DeadLetterReason: Counter]
    private let metadataIgnored: [OffsetCommitMetadata.IgnoredReason: Counter]
    /// `relay_june_request_duration_seconds{type="batch"}`: batch requests carry events of several types.
    private let batchDurations: [Outcome: Timer]
    let retries = RelayMetricCatalog.juneRetries.counter()
    let inFlight = RelayMetricCatalog.inFlightRequests.gauge()
    let buffered = RelayMetricCatalog.bufferedRecords.gauge()
    let outage = RelayMetricCatalog.juneOutage.gauge()
    let assigned = RelayMetricCatalog.assignedPartitions.gauge()
    let assignments = RelayMetricCatalog.rebalances.counter("assign")
    let revocations = RelayMetricCatalog.rebalances.counter("revoke")
    private let commitFailures = RelayMetricCatalog.commitFailures.counter()
    let deadLetterFailures = RelayMetricCatalog.deadLetterFailures.counter()
    let bufferedBytes = RelayMetricCatalog.bufferedBytes.gauge()
    let probes = RelayMetricCatalog.juneProbes.counter()
    let valuesOmitted = RelayMetricCatalog.deadLetterValuesOmitted.counter()
    let producerReplacements = RelayMetricCatalog.producerReplacements.counter()
    let batchEvents = RelayMetricCatalog.juneBatchEvents.recorder()
    let concurrencyLimit = RelayMetricCatalog.juneConcurrencyLimit.gauge()
    let rttBaseline = RelayMetricCatalog.juneRTTBaseline.gauge()
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
            delivered[type] = RelayMetricCatalog.recordsDelivered.counter(type.rawValue)
            var byOutcome: [Outcome: Timer] = [:]
            for outcome in Outcome.allCases {
                byOutcome[outcome] = RelayMetricCatalog.juneRequestDuration.timer(type.rawValue, outcome.rawValue)
            }
            durations[type] = byOutcome
        }
        self.deliveredByType = delivered
        self.durations = durations
        var deadLettered: [DeadLetterReason: Counter] = [:]
        for reason in DeadLetterReason.allCases {
            deadLettered[reason] = RelayMetricCatalog.recordsDeadLettered.counter(reason.rawValue)
        }
        self.deadLettered = deadLettered
        var metadataIgnored: [OffsetCommitMetadata.IgnoredReason: Counter] = [:]
        for reason in OffsetCommitMetadata.IgnoredReason.allCases {
            metadataIgnored[reason] = RelayMetricCatalog.commitMetadataIgnored.counter(reason.rawValue)
        }
        self.metadataIgnored = metadataIgnored
        var batchDurations: [Outcome: Timer] = [:]
        for outcome in Outcome.allCases {
            batchDurations[outcome] = RelayMetricCatalog.juneRequestDuration.timer("batch", outcome.rawValue)
        }
        self.batchDurations = batchDurations
        for label in Self.commonRefusalStatuses.map(String.init) + [PipelineMode.rejectingAllLabel] { refusedGauge(label).record(0) }
        outage.record(0)
    }

    private func refusedGauge(_ label: String) -> Gauge {
        refused.withLock { gauges in
            if let gauge = gauges[label] { return gauge }
            let gauge = RelayMetricCatalog.juneRefused.gauge(label)
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
            let (topic, number) = (partition.topic, String(partition.partition))
            let created = PartitionMetrics(
                consumed: RelayMetricCatalog.recordsConsumed.counter(topic, number),
                skipped: RelayMetricCatalog.recordsSkipped.counter(topic, number),
                committed: RelayMetricCatalog.committedOffset.gauge(topic, number),
                lag: RelayMetricCatalog.consumerLag.gauge(topic, number),
                uncommitted: RelayMetricCatalog.uncommittedOffsets.gauge(topic, number),
                oldestPending: RelayMetricCatalog.oldestPending.gauge(topic, number)
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
