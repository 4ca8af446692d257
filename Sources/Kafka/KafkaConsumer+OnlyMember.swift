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
        // A join unanswered for longer than the member's own session may never be answered: librdkafka
        // 2.0.2's mock cluster (the dev broker) parks a JoinGroup while the group waits out a departed
        // member, and its session timer meanwhile deletes the parked member with its pending answer,
        // which the client then awaits for max.poll.interval.ms + 3 s (rd_kafka_mock_cgrp.c: only join,
        // sync and heartbeat count as activity). So each attempt lasts the session timeout plus 3 s;
        // then the member is closed and a fresh one joins. On Kafka a new joiner is never dropped like
        // that, and replacing one that waits is harmless. The closed member had no assignment: with a
        // sticky assignor its handle is kept until exit (librdkafka issue #4312, see RDKafkaClient.deinit).
        let session = configuration.properties()["session.timeout.ms"].flatMap { Int64($0) } ?? 45_000
        let attemptLength = Duration.milliseconds(session + 3_000)
        while true {
            let attemptDeadline = min(deadline, clock.now.advanced(by: attemptLength))
            let watcher = JoinWatcher()
            let consumer = try KafkaConsumer(configuration: configuration, logger: logger, rebalanceHandler: watcher)
            let assigned: Set<KafkaTopicPartition>
            do throws(KafkaError) {
                try consumer.subscribe(topics: [topic])
                while !watcher.sawAssignment, clock.now < attemptDeadline {
                    // Records are never returned here: the watcher pauses every assigned partition.
                    _ = try await consumer.poll(maxMessages: 16, timeout: .milliseconds(100))
                }
                assigned = Set(try consumer.assignment().filter { $0.topic == topic })
            } catch {
                try? await consumer.close()
                throw error
            }
            guard watcher.sawAssignment else {
                // Bounded: an assignment arriving during the close can hang it (librdkafka issue #4527).
                try? await consumer.close(timeout: .seconds(5))
                if clock.now < deadline {
                    logger.info("No answer to joining the group within the session timeout; joining again with a new member")
                    continue
                }
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
