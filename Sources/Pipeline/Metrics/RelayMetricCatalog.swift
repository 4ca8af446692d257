import Metrics

/// One metric the relay exports: its Prometheus name, type, label names and `# HELP` text.
public struct MetricDescriptor: Sendable, Hashable {
    /// The Prometheus type the metric is exposed as.
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    public let name: String
    public let kind: Kind
    /// Label names, in the order the metric is created with.
    public let labels: [String]
    /// The `# HELP` text on `/metrics`.
    public let help: String

    /// `labels` lists the label names separated by commas ("topic,partition"; "" for none), so every
    /// catalog entry has the same shape.
    public init(_ name: String, _ kind: Kind, labels: String, help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels.split(separator: ",").map(String.init)
        self.help = help
    }

    /// A counter with this name; `values` pairs with ``labels`` one to one.
    func counter(_ values: String...) -> Counter {
        precondition(kind == .counter && values.count == labels.count, "\(name): \(kind) with labels \(labels)")
        return Counter(label: name, dimensions: dimensions(values))
    }

    /// A gauge with this name; `values` pairs with ``labels`` one to one.
    func gauge(_ values: String...) -> Gauge {
        precondition(kind == .gauge && values.count == labels.count, "\(name): \(kind) with labels \(labels)")
        return Gauge(label: name, dimensions: dimensions(values))
    }

    /// A histogram of seconds with this name; `values` pairs with ``labels`` one to one.
    func timer(_ values: String...) -> Timer {
        precondition(kind == .histogram && values.count == labels.count, "\(name): \(kind) with labels \(labels)")
        return Timer(label: name, dimensions: dimensions(values), preferredDisplayUnit: .seconds)
    }

    /// A histogram of plain values with this name; `values` pairs with ``labels`` one to one.
    func recorder(_ values: String...) -> Recorder {
        precondition(kind == .histogram && values.count == labels.count, "\(name): \(kind) with labels \(labels)")
        return Recorder(label: name, dimensions: dimensions(values))
    }

    private func dimensions(_ values: [String]) -> [(String, String)] {
        Array(zip(labels, values))
    }
}

/// Every metric the relay exports, written once: ``PipelineMetrics`` and ``KafkaStatisticsMetrics``
/// create their metrics from these descriptors, `/metrics` takes its `# HELP` lines from them, and the
/// operations tests check README's metric table and the Grafana dashboard against ``all``. Labels are
/// bounded (topic, partition, type, outcome, reason, status, kind, broker), never user ids or event names.
public enum RelayMetricCatalog {
    // Records.
    public static let recordsConsumed = MetricDescriptor(
        "relay_records_consumed_total", .counter, labels: "topic,partition",
        help: "Records read from Kafka.")
    public static let recordsDelivered = MetricDescriptor(
        "relay_records_delivered_total", .counter, labels: "type",
        help: "Events June accepted (2xx), by event type.")
    public static let recordsDeadLettered = MetricDescriptor(
        "relay_records_dead_lettered_total", .counter, labels: "reason",
        help: "Records written to the dead-letter topic, by reason.")
    public static let recordsSkipped = MetricDescriptor(
        "relay_records_skipped_total", .counter, labels: "topic,partition",
        help: "Records skipped on assignment because the commit metadata lists them as done.")
    public static let commitMetadataIgnored = MetricDescriptor(
        "relay_commit_metadata_ignored_total", .counter, labels: "reason",
        help: "Committed offset metadata not used at assignment (written for another offset or partition, old, malformed or foreign).")

    // Dead letters.
    public static let deadLetterValuesOmitted = MetricDescriptor(
        "relay_dead_letter_values_omitted_total", .counter, labels: "",
        help: "Dead letters written without their value (too large for the dead-letter topic).")
    public static let deadLetterFailures = MetricDescriptor(
        "relay_dead_letter_failures_total", .counter, labels: "",
        help: "Dead-letter writes that failed and are retried.")
    public static let producerReplacements = MetricDescriptor(
        "relay_producer_replacements_total", .counter, labels: "",
        help: "Dead-letter producers replaced after librdkafka's fatal state.")

    // June.
    public static let juneRetries = MetricDescriptor(
        "relay_june_retries_total", .counter, labels: "",
        help: "June requests that failed retryably and will be retried.")
    public static let juneRequestDuration = MetricDescriptor(
        "relay_june_request_duration_seconds", .histogram, labels: "type,outcome",
        help: "June request latency, by event type and outcome.")
    public static let juneBatchEvents = MetricDescriptor(
        "relay_june_batch_events", .histogram, labels: "",
        help: "Events per June batch request.")
    public static let juneOutage = MetricDescriptor(
        "relay_june_outage", .gauge, labels: "",
        help: "1 while June is considered down (consumption paused, probing).")
    public static let juneProbes = MetricDescriptor(
        "relay_june_probes_total", .counter, labels: "",
        help: "Probe requests sent to June while it was unavailable (outage or refusal).")
    public static let juneConcurrencyLimit = MetricDescriptor(
        "relay_june_concurrency_limit", .gauge, labels: "",
        help: "June requests that may be outstanding: learned from June's answers (--concurrency adaptive) or --max-in-flight (fixed).")
    public static let juneRTTBaseline = MetricDescriptor(
        "relay_june_rtt_baseline_seconds", .gauge, labels: "",
        help: "The concurrency limiter's round-trip-time baseline (moving average of June's answer times).")
    public static let juneRefused = MetricDescriptor(
        "relay_june_refused", .gauge, labels: "status",
        help: "1 while June refuses the relay (authentication or endpoint), by HTTP status.")

    // Buffers and offsets.
    public static let inFlightRequests = MetricDescriptor(
        "relay_inflight_requests", .gauge, labels: "",
        help: "June requests and dead-letter writes in flight.")
    public static let bufferedRecords = MetricDescriptor(
        "relay_buffered_records", .gauge, labels: "",
        help: "Records consumed and not yet finished.")
    public static let bufferedBytes = MetricDescriptor(
        "relay_buffered_bytes", .gauge, labels: "",
        help: "Bytes held for unfinished records (values and request bodies).")
    public static let uncommittedOffsets = MetricDescriptor(
        "relay_uncommitted_offsets", .gauge, labels: "topic,partition",
        help: "Finished offsets above the committable offset, per partition.")
    public static let oldestPending = MetricDescriptor(
        "relay_oldest_pending_seconds", .gauge, labels: "topic,partition",
        help: "Age of the oldest unfinished record, per partition.")
    public static let committedOffset = MetricDescriptor(
        "relay_committed_offset", .gauge, labels: "topic,partition",
        help: "Last offset committed by this replica, per partition.")
    public static let consumerLag = MetricDescriptor(
        "relay_consumer_lag", .gauge, labels: "topic,partition",
        help: "High watermark minus committed offset, per partition of this replica.")
    public static let rebalances = MetricDescriptor(
        "relay_rebalances_total", .counter, labels: "kind",
        help: "Partition assignment changes, by kind (assign, revoke).")
    public static let assignedPartitions = MetricDescriptor(
        "relay_assigned_partitions", .gauge, labels: "",
        help: "Partitions this replica owns.")
    public static let commitFailures = MetricDescriptor(
        "relay_commit_failures_total", .counter, labels: "",
        help: "Offset commits that failed (retried at the next interval).")

    // librdkafka statistics (``KafkaStatisticsMetrics``).
    public static let kafkaBrokerRTT = MetricDescriptor(
        "relay_kafka_broker_rtt_seconds", .gauge, labels: "broker",
        help: "Average Kafka request round-trip time per broker, Fetch waits included (librdkafka statistics).")
    public static let kafkaFetchQueue = MetricDescriptor(
        "relay_kafka_fetch_queue_messages", .gauge, labels: "",
        help: "Records prefetched by librdkafka and not yet polled (librdkafka statistics).")
    public static let kafkaGroupState = MetricDescriptor(
        "relay_kafka_group_state", .gauge, labels: "",
        help: "1 while this consumer-group member is joined and steady (librdkafka statistics).")
    public static let kafkaRebalanceAge = MetricDescriptor(
        "relay_kafka_rebalance_age_seconds", .gauge, labels: "",
        help: "Seconds since this member's last group rebalance (librdkafka statistics).")

    /// Every metric, in README's order.
    public static let all: [MetricDescriptor] = [
        recordsConsumed, recordsDelivered, recordsDeadLettered, recordsSkipped, juneRetries, juneRequestDuration,
        juneBatchEvents, commitMetadataIgnored, juneOutage, juneRefused, juneConcurrencyLimit, juneRTTBaseline, juneProbes,
        inFlightRequests, bufferedRecords, bufferedBytes, uncommittedOffsets, oldestPending, committedOffset, consumerLag,
        rebalances, assignedPartitions, commitFailures, deadLetterFailures, deadLetterValuesOmitted, producerReplacements,
        kafkaBrokerRTT, kafkaFetchQueue, kafkaGroupState, kafkaRebalanceAge,
    ]

    /// The descriptor with this Prometheus name, if the relay exports one.
    public static func descriptor(named name: String) -> MetricDescriptor? {
        byName[name]
    }

    private static let byName: [String: MetricDescriptor] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
