import Logging
import Synchronization

extension KafkaConsumer {
    /// How ``joinAsOnlyMember(configuration:topic:partitions:timeout:logger:)`` ended.
    public enum OnlyMemberJoin: Sendable {
        /// The consumer is the group's only member: it holds every expected partition, all paused (the
        /// caller resumes what it wants to read).
        case joined(KafkaConsumer)
        /// No assignment arrived in time: the group may have active members, or a dead member that holds
        /// it until its session timeout. The consumer was closed.
        case timedOut
        /// The first assignment was not every expected partition, so other members are active. The
        /// consumer left the group.
        case otherMembers(assigned: Int, expected: Int)
    }

    /// Joins `configuration.groupID` subscribed to `topic` and checks that it is the group's only member:
    /// its first assignment must be exactly `partitions` (every partition of the topic). Used by the
    /// operator tools (`offsets reset`, `dlq redrive`), which must not run beside another member.
    ///
    /// Assigned partitions are paused while joining, so nothing is fetched before the check; later
    /// assignments (after a rebalance) are not paused.
    ///
    /// - Throws: ``KafkaError`` when the consumer cannot be created, subscribed or polled.
    public static func joinAsOnlyMember(
        configuration: KafkaConsumerConfiguration,
        topic: String,
        partitions: Set<KafkaTopicPartition>,
        timeout: Duration,
        logger: Logger
    ) async throws(KafkaError) -> OnlyMemberJoin {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let watcher = JoinWatcher()
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger, rebalanceHandler: watcher)
        let assigned: Set<KafkaTopicPartition>
        do throws(KafkaError) {
            try consumer.subscribe(topics: [topic])
            while !watcher.sawAssignment, clock.now < deadline {
                // Records are never returned here: the watcher pauses every assigned partition.
                _ = try await consumer.poll(maxMessages: 16, timeout: .milliseconds(100))
            }
            assigned = Set(try consumer.assignment().filter { $0.topic == topic })
        } catch {
            try? await consumer.close()
            throw error
        }
        guard watcher.sawAssignment else {
            try? await consumer.close()
            return .timedOut
        }
        guard assigned == partitions else {
            try? await consumer.close()
            return .otherMembers(assigned: assigned.count, expected: partitions.count)
        }
        watcher.finishJoining()
        return .joined(consumer)
    }
}

/// Notes the first assignment, and pauses whatever is assigned until the join is over (runs on the
/// consumer's poll queue).
private final class JoinWatcher: KafkaRebalanceHandler {
    private struct State {
        var sawAssignment = false
        var joining = true
    }

    private let state = Mutex(State())

    var sawAssignment: Bool { state.withLock { $0.sawAssignment } }

    func finishJoining() {
        state.withLock { $0.joining = false }
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        let pause = state.withLock { state in
            state.sawAssignment = true
            return state.joining
        }
        if pause { try? consumer.pause(partitions) }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {}
}
