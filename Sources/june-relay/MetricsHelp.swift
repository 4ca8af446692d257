/// `# HELP` lines for `/metrics`. swift-metrics has no help text and the Prometheus factory emits only
/// `# TYPE`, so the exposition is annotated here, from this catalog (the tables in docs/operations.md
/// say the same). A metric missing here has no `# HELP` line, which `promtool check metrics` reports: the
/// operations tests run it on the relay's real output, so a new metric cannot be forgotten.
enum MetricsHelp {
    static let catalog: [String: String] = [
        "relay_records_consumed_total": "Records read from Kafka.",
        "relay_records_delivered_total": "Events June accepted (2xx), by event type.",
        "relay_records_dead_lettered_total": "Records written to the dead-letter topic, by reason.",
        "relay_records_skipped_total": "Records skipped on assignment because the commit metadata lists them as done.",
        "relay_commit_metadata_ignored_total": "Committed offset metadata not used at assignment (written for another offset or partition, old, malformed or foreign).",
        "relay_dead_letter_values_omitted_total": "Dead letters written without their value (too large for the dead-letter topic).",
        "relay_dead_letter_failures_total": "Dead-letter writes that failed and are retried.",
        "relay_june_retries_total": "June requests that failed retryably and will be retried.",
        "relay_june_request_duration_seconds": "June request latency, by event type and outcome.",
        "relay_june_batch_events": "Events per June batch request.",
        "relay_june_outage": "1 while June is considered down (consumption paused, probing).",
        "relay_june_probes_total": "Probe requests sent to June while it was unavailable (outage or refusal).",
        "relay_producer_replacements_total": "Dead-letter producers replaced after librdkafka's fatal state.",
        "relay_june_concurrency_limit": "June requests that may be outstanding: learned from June's answers (--concurrency adaptive) or --max-in-flight (fixed).",
        "relay_june_rtt_baseline_seconds": "The concurrency limiter's round-trip-time baseline (moving average of June's answer times).",
        "relay_june_refused": "1 while June refuses the relay (authentication or endpoint), by HTTP status.",
        "relay_inflight_requests": "June requests and dead-letter writes in flight.",
        "relay_buffered_records": "Records consumed and not yet finished.",
        "relay_buffered_bytes": "Bytes held for unfinished records (values and request bodies).",
        "relay_uncommitted_offsets": "Finished offsets above the committable offset, per partition.",
        "relay_oldest_pending_seconds": "Age of the oldest unfinished record, per partition.",
        "relay_committed_offset": "Last offset committed by this replica, per partition.",
        "relay_consumer_lag": "High watermark minus committed offset, per partition of this replica.",
        "relay_rebalances_total": "Partition assignment changes, by kind (assign, revoke).",
        "relay_assigned_partitions": "Partitions this replica owns.",
        "relay_commit_failures_total": "Offset commits that failed (retried at the next interval).",
        "relay_kafka_broker_rtt_seconds": "Average Kafka request round-trip time per broker, Fetch waits included (librdkafka statistics).",
        "relay_kafka_fetch_queue_messages": "Records prefetched by librdkafka and not yet polled (librdkafka statistics).",
        "relay_kafka_group_state": "1 while this consumer-group member is joined and steady (librdkafka statistics).",
        "relay_kafka_rebalance_age_seconds": "Seconds since this member's last group rebalance (librdkafka statistics).",
    ]

    /// Inserts `# HELP name text` before each `# TYPE name …` line whose metric is in the catalog.
    static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        guard !exposition.isEmpty else { return exposition }
        let typePrefix = Array("# TYPE ".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(exposition.count + catalog.count * 80)
        var lines = exposition.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if exposition.last == UInt8(ascii: "\n") { lines.removeLast() }
        for line in lines {
            if line.starts(with: typePrefix) {
                let name = String(decoding: line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                if let help = catalog[name] {
                    output += Array("# HELP \(name) \(help)\n".utf8)
                }
            }
            output += line
            output.append(UInt8(ascii: "\n"))
        }
        return output
    }
}
