import Logging
import Synchronization

/// What librdkafka's rebalance callback reports to the owner of a consumer.
enum RDKafkaRebalanceEvent: Sendable {
    case assigned([KafkaTopicPartition])
    case revoked([KafkaTopicPartition], lost: Bool)
}

/// The state librdkafka's C callbacks reach through the handle's opaque pointer.
///
/// The handle's owner (``RDKafkaClient``) keeps this object alive until after `rd_kafka_destroy`
/// returned, so the unretained pointer given to librdkafka never dangles.
final class RDKafkaCallbackContext: Sendable {
    let logger: Logger
    /// Called from `rd_kafka_poll` / `rd_kafka_flush` with the per-message id and its outcome.
    let onDelivery: (@Sendable (UInt, Result<KafkaDeliveryReport, KafkaError>) -> Void)?
    /// Called from `rd_kafka_consumer_poll` with each statistics report (`statistics.interval.ms`).
    let onStatistics: (@Sendable (KafkaStatistics) -> Void)?
    private let rebalanceObserver = Mutex<(@Sendable (RDKafkaRebalanceEvent) -> Void)?>(nil)
    private let fatal = Mutex<KafkaError?>(nil)
    private let assigned = Atomic<Bool>(false)
    /// What the rebalance callback did since the consumer's poll batch began (see ``beginPollBatch()``).
    private let batchRebalance = Mutex<BatchRebalance>(BatchRebalance())

    struct BatchRebalance: Sendable {
        var ran = false
        var revoked: Set<KafkaTopicPartition> = []
    }

    init(
        logger: Logger,
        onDelivery: (@Sendable (UInt, Result<KafkaDeliveryReport, KafkaError>) -> Void)? = nil,
        onStatistics: (@Sendable (KafkaStatistics) -> Void)? = nil
    ) {
        self.logger = logger
        self.onDelivery = onDelivery
        self.onStatistics = onStatistics
    }

    func setRebalanceObserver(_ observer: (@Sendable (RDKafkaRebalanceEvent) -> Void)?) {
        rebalanceObserver.withLock { $0 = observer }
    }

    /// Calls the observer (outside the lock, so it may block and call back into the client).
    func notifyRebalance(_ event: RDKafkaRebalanceEvent) {
        if case .assigned = event { assigned.store(true, ordering: .releasing) }
        batchRebalance.withLock { batch in
            batch.ran = true
            if case .revoked(let partitions, _) = event { batch.revoked.formUnion(partitions) }
        }
        let observer = rebalanceObserver.withLock { $0 }
        observer?(event)
    }

    /// Starts a poll batch: forgets earlier rebalance callbacks.
    func beginPollBatch() {
        batchRebalance.withLock { $0 = BatchRebalance() }
    }

    /// Whether a rebalance callback ran since ``beginPollBatch()``, and which partitions it revoked.
    var rebalanceInBatch: BatchRebalance { batchRebalance.withLock { $0 } }

    /// Whether an assignment (even an empty one) was ever delivered: the group's SyncGroup answered.
    var sawAssignment: Bool { assigned.load(ordering: .acquiring) }

    func recordFatalError(_ error: KafkaError) {
        fatal.withLock { if $0 == nil { $0 = error } }
    }

    var fatalFailure: KafkaError? { fatal.withLock { $0 } }
}
