/// Told about partition assignment changes of a ``KafkaConsumer``.
///
/// The methods are called **synchronously inside librdkafka's rebalance callback**, that is on the
/// consumer's poll thread while ``KafkaConsumer/poll(maxMessages:timeout:)`` or
/// ``KafkaConsumer/close()`` runs. They may block (for example to wait for in-flight work to drain)
/// and may call ``KafkaConsumer/commitOnCallingThread(_:timeout:)``, ``KafkaConsumer/pause(_:)``,
/// ``KafkaConsumer/resume(_:)`` and ``KafkaConsumer/assignment()``. They must not call the `async`
/// methods of the consumer and wait for them (those queue behind the very poll that is running).
///
/// Both the cooperative (`cooperative-sticky`) and the eager (`range`, `roundrobin`) protocols are
/// supported; with cooperative, the lists are the incremental changes, with eager they are the whole
/// assignment.
public protocol KafkaRebalanceHandler: Sendable {
    /// Called after the partitions were added to the consumer's assignment. Fetching may already have
    /// started, but no record of these partitions has been returned by `poll` yet.
    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)

    /// Called before the partitions are removed from the assignment, so the handler can still commit
    /// their offsets.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)

    /// Called when the assignment was lost (session timeout, fenced, or a commit answered
    /// ILLEGAL_GENERATION, see librdkafka issue #4059) before the partitions are removed. Other members
    /// may own them already, and a commit would fail. Defaults to ``partitionsRevoked(_:consumer:)``.
    func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer)
}

extension KafkaRebalanceHandler {
    public func partitionsLost(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        partitionsRevoked(partitions, consumer: consumer)
    }
}
