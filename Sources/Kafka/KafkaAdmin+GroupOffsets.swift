import Foundation
import Logging
import Synchronization

extension KafkaAdmin {
    /// Commits `offsets` (next offset to read, per partition of `topic`) for `group` without consuming.
    ///
    /// Joins the group as a member (`cooperative-sticky`, like the relay), waits for the first assignment,
    /// and checks that it holds every partition of the topic; if not, another member is active, so it
    /// leaves and throws. Otherwise it commits the offsets synchronously as that member and leaves. The
    /// assigned partitions are paused at once, and nothing else is committed.
    /// (Standalone commits are refused by the librdkafka mock cluster once a group has had members, and a
    /// member's commit is valid on real Kafka too.)
    ///
    /// - Throws: ``KafkaError/Code/state`` when the group has active members; ``KafkaError/Code/timedOut``
    ///   when no assignment arrived in `timeout` (e.g. a dead member still holds the group until its
    ///   session timeout); ``KafkaError/unknownTopic(_:)``.
    public func commitOffsetsAsGroupMember(
        group: String,
        topic: String,
        offsets: [KafkaTopicPartition: Int64],
        timeout: Duration
    ) async throws(KafkaError) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let allPartitions = Set(try await partitions(topic: topic, timeout: timeout).map { KafkaTopicPartition(topic: topic, partition: $0) })
        for tp in offsets.keys where !allPartitions.contains(tp) {
            throw KafkaError.invalidArgument("\(tp) is not a partition of topic \(topic)")
        }
        guard !offsets.isEmpty else { return }

        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group)
        configuration.assignmentStrategy = "cooperative-sticky"
        configuration.additionalProperties = additionalProperties
        let recorder = AssignmentRecorder()
        let member = try KafkaConsumer(configuration: configuration, logger: logger, rebalanceHandler: recorder)
        var memberLogger = logger
        memberLogger[metadataKey: KafkaLoggingKeys.groupID] = "\(group)"

        do throws(KafkaError) {
            try member.subscribe(topics: [topic])
            while !recorder.sawAssignment, clock.now < deadline {
                // Records are never returned here: the handler pauses every assigned partition.
                _ = try await member.poll(maxMessages: 16, timeout: .milliseconds(100))
            }
            let assigned = Set(try member.assignment())
            guard recorder.sawAssignment else {
                throw KafkaError.timedOut(
                    "joining group \(group) (it may have active members, or a dead member that holds it until its session timeout)"
                )
            }
            guard assigned == allPartitions else {
                throw KafkaError.state(
                    "group \(group) has active members: a new member got \(assigned.count) of \(allPartitions.count) partitions of \(topic); stop them first"
                )
            }
            try await member.commit(offsets)
            memberLogger.info("Kafka group offsets committed as member", metadata: [
                KafkaLoggingKeys.topic: "\(topic)",
                KafkaLoggingKeys.partitions: "\(offsets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))",
            ])
        } catch {
            try? await member.close()
            throw error
        }
        try await member.close()
    }
}

/// Records the first assignment and pauses what it is given (so nothing is fetched).
private final class AssignmentRecorder: KafkaRebalanceHandler {
    private let assigned = Atomic<Bool>(false)

    var sawAssignment: Bool { assigned.load(ordering: .acquiring) }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        try? consumer.pause(partitions)
        assigned.store(true, ordering: .releasing)
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {}
}
