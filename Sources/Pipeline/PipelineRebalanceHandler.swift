import CoreMetrics
import Foundation
import Kafka
import Logging
import Synchronization

/// The pipeline's side of a rebalance (spec §5), called synchronously inside librdkafka's rebalance
/// callback on the consumer's poll thread (never on the cooperative pool, so blocking here is fine).
///
/// Assign: each partition starts a new generation in the offset tracker.
/// Revoke: stop new work for the partitions, wait up to the drain timeout for their in-flight events,
/// commit their watermarks, then forget them; later results are discarded by the generation check.
final class PipelineRebalanceHandler: KafkaRebalanceHandler {
    private let state: SharedPipelineState
    private let drainTimeout: Duration
    private let metrics: PipelineMetrics
    private let logger: Logger

    init(state: SharedPipelineState, drainTimeout: Duration, metrics: PipelineMetrics, logger: Logger) {
        self.state = state
        self.drainTimeout = drainTimeout
        self.metrics = metrics
        self.logger = logger
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        guard !partitions.isEmpty else { return }
        let total = state.withLock { state in
            state.assign(partitions)
            return state.assigned.count
        }
        // A partition paused before it was revoked must not stay paused when it comes back.
        try? consumer.resume(partitions)
        metrics.assignments.increment()
        metrics.assigned.record(total)
        logger.info(
            "Partitions assigned",
            metadata: ["kafka.partitions": "\(Self.describe(partitions))", "kafka.assigned_total": "\(total)"]
        )
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        guard !partitions.isEmpty else { return }
        let revoked = Set(partitions)
        state.withLock { $0.beginRevoke(revoked) }
        logger.info("Partitions revoked: draining", metadata: ["kafka.partitions": "\(Self.describe(partitions))"])

        let deadline = ContinuousClock.now + drainTimeout
        var inFlight = state.withLock { $0.lanes.running(in: revoked) }
        while inFlight > 0, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.005)
            inFlight = state.withLock { $0.lanes.running(in: revoked) }
        }
        if inFlight > 0 {
            logger.warning("Drain timeout on revoke; in-flight events will be re-delivered", metadata: ["count": "\(inFlight)"])
        }
        let offsets = state.withLock { $0.finishRevoke(revoked) }
        if !offsets.isEmpty {
            do {
                try consumer.commitSync(offsets)
                for (partition, offset) in offsets { metrics.recordCommitted(partition, offset: offset) }
            } catch {
                metrics.commitFailures.increment()
                logger.warning("Offset commit on revoke failed", metadata: ["error": "\(error)"])
            }
        }
        metrics.revocations.increment()
        metrics.assigned.record(state.withLock { $0.assigned.count })
    }

    private static func describe(_ partitions: [KafkaTopicPartition]) -> String {
        partitions.map { "\($0.topic)[\($0.partition)]" }.sorted().joined(separator: ",")
    }
}
