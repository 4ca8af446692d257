import Logging

extension KafkaAdmin {
    /// Commits `offsets` (next offset to read, per partition of `topic`) for `group` without consuming.
    ///
    /// Joins the group as its only member (`cooperative-sticky`, like the relay; see
    /// ``KafkaConsumer/joinAsOnlyMember(configuration:topic:partitions:timeout:logger:)``): if another member
    /// is active, it leaves and throws. Otherwise it commits the offsets as that member and leaves; nothing
    /// is fetched, and nothing else is committed.
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
        let allPartitions = Set(try await partitions(topic: topic, timeout: timeout).map { KafkaTopicPartition(topic: topic, partition: $0) })
        for tp in offsets.keys where !allPartitions.contains(tp) {
            throw KafkaError.invalidArgument("\(tp) is not a partition of topic \(topic)")
        }
        guard !offsets.isEmpty else { return }

        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: group)
        configuration.assignmentStrategy = "cooperative-sticky"
        configuration.additionalProperties = additionalProperties
        let member: KafkaConsumer
        switch try await KafkaConsumer.joinAsOnlyMember(
            configuration: configuration, topic: topic, partitions: allPartitions, timeout: timeout, logger: logger
        ) {
        case .joined(let consumer):
            member = consumer
        case .timedOut:
            throw KafkaError.timedOut(
                "joining group \(group) (it may have active members, or a dead member that holds it until its session timeout)"
            )
        case .otherMembers(let assigned, let expected):
            throw KafkaError.state(
                "group \(group) has active members: a new member got \(assigned) of \(expected) partitions of \(topic); stop them first"
            )
        }
        var memberLogger = logger
        memberLogger[metadataKey: KafkaLoggingKeys.groupID] = "\(group)"
        do throws(KafkaError) {
            try await member.commit(offsets)
            memberLogger.info(
                "Kafka group offsets committed as member",
                metadata: [
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
