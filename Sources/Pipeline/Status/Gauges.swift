import CoreMetrics
import Kafka

// MARK: - Pipeline + gauges

extension Pipeline {
    /// Refreshes the gauges from a snapshot of the work object (every commit interval and at shutdown).
    func updateGauges() {
        let snapshot = self.snapshot
        metrics.inFlight.record(snapshot.inFlight)
        metrics.buffered.record(snapshot.buffered)
        metrics.bufferedBytes.record(snapshot.bufferedBytes)
        metrics.outage.record(snapshot.inOutage ? 1 : 0)
        metrics.assigned.record(snapshot.assignedPartitions)
        metrics.concurrencyLimit.record(snapshot.concurrencyLimit)
        if let baseline = snapshot.rttBaseline { metrics.rttBaseline.record(baseline) }
        let now = ContinuousClock.now
        let backlog: [(KafkaTopicPartition, Int64, Duration?, Int64?)] = state.withLock { state in
            state.assigned.map { partition in
                let offsets = state.tracker.partitions[partition]
                return (
                    partition,
                    offsets?.uncommittedCount ?? 0,
                    offsets?.oldestUnfinishedSince.map { now - $0 },
                    offsets?.lastCommitted?.offset
                )
            }
        }
        for (partition, uncommitted, oldest, committed) in backlog {
            metrics.recordPartitionBacklog(partition, uncommitted: uncommitted, oldestPending: oldest)
            // Lag: librdkafka's cached high watermark (non-blocking, from fetch responses) minus committed.
            guard let (low, high) = consumer.watermarks(partition), high >= 0 else { continue }
            metrics.recordLag(partition, lag: max(0, high - (committed ?? low)))
        }
    }
}
