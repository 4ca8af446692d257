import Kafka
import Logging

/// `dlq redrive`: writes dead-lettered records back to a topic (usually the relay's input topic, once
/// the cause is fixed), without the relay's `june-relay.*` headers.
///
/// How it reads: as the only member of a dedicated consumer group, ``RedriveOptions/group``
/// (`june-relay-redrive-<from>` by default), from that group's committed offset (or the start of the
/// partition) up to the end offsets seen when the run started. Records written to the dead-letter topic
/// during the run are left for the next run. Progress is committed to the group after each batch, and
/// only for records the target topic acknowledged (`acks=all`, idempotent producer), so a rerun, or a
/// run after `--limit`, continues where the last one stopped and does not redrive a record twice
/// (except the few of a batch in flight when a run was killed: at-least-once, like the relay).
/// To redrive everything again: `june-relay offsets reset --group june-relay-redrive-<from> --topic <from> --to-earliest`.
///
/// Within a batch, records with the same key are written one after the other in offset order, and
/// different keys concurrently.
public struct DeadLetterRedrive: Sendable {
    let bootstrapServers: String
    let kafkaProperties: [String: String]
    let logger: Logger

    /// - Parameter kafkaProperties: librdkafka properties for every client (TLS, SASL, …).
    public init(bootstrapServers: String, kafkaProperties: [String: String] = [:], logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.kafkaProperties = kafkaProperties
        self.logger = logger
    }

    /// Redrives the records, waits for every acknowledgement, commits progress, leaves the group.
    ///
    /// - Throws: ``OperationsError/Kind/invalidArgument`` for `from == to` or a negative limit;
    ///   ``OperationsError/Kind/unknownTopic`` when either topic does not exist (none is created);
    ///   ``OperationsError/Kind/activeMembers`` when another redrive of the same topic is running;
    ///   ``OperationsError/Kind/timedOut`` when the group cannot be joined or records stop arriving;
    ///   ``OperationsError/Kind/kafka`` when a write fails (what was acknowledged before is committed).
    public func run(_ options: RedriveOptions) async throws(OperationsError) -> RedriveReport {
        guard options.from != options.to else {
            throw OperationsError.invalidArgument("--from and --to must name different topics")
        }
        if let limit = options.limit, limit < 0 {
            throw OperationsError.invalidArgument("--limit must not be negative")
        }
        do {
            return try await redrive(options)
        } catch let error as OperationsError {
            throw error
        } catch let error as KafkaError {
            throw OperationsError.kafka(error, while: "redriving \(options.from) to \(options.to)")
        } catch {
            throw OperationsError(kind: .kafka, message: "redriving \(options.from) to \(options.to): \(error)")
        }
    }

    private func redrive(_ options: RedriveOptions) async throws -> RedriveReport {
        let admin = try KafkaAdmin(bootstrapServers: bootstrapServers, additionalProperties: kafkaProperties, logger: logger)
        let sourcePartitions = try await admin.partitions(topic: options.from, timeout: options.timeout)
        let targetPartitions = Set(try await admin.partitions(topic: options.to, timeout: options.timeout))
        let topicPartitions = sourcePartitions.map { KafkaTopicPartition(topic: options.from, partition: $0) }
        var progress = try await startingProgress(of: topicPartitions, admin: admin, options: options)
        logger.info(
            "Redrive starting",
            metadata: [
                KafkaLoggingKeys.topic: "\(options.from)",
                KafkaLoggingKeys.groupID: "\(options.group)",
                "redrive.to": "\(options.to)",
                "redrive.pending": "\(progress.remaining)",
            ]
        )
        if progress.isComplete || options.limit == 0 {
            return RedriveReport(moved: 0, remaining: progress.remaining)
        }
        let consumer = try await join(topicPartitions, options: options)

        let report: RedriveReport
        var producer: KafkaProducer?
        do {
            // The join paused every partition; read those with something to redrive.
            try consumer.resume(topicPartitions.filter { !progress.finishedPartitions.contains($0.partition) })
            var producerConfiguration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
            producerConfiguration.idempotence = true
            producerConfiguration.additionalProperties = kafkaProperties
            let writer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
            producer = writer
            report = try await consume(
                consumer: consumer, producer: writer, progress: &progress, targetPartitions: targetPartitions, options: options
            )
        } catch {
            try? await consumer.close()
            await producer?.close(timeout: options.timeout)
            throw error
        }
        try await consumer.close()
        await producer?.close(timeout: options.timeout)
        return report
    }

    private func consume(
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        progress: inout RedriveProgress,
        targetPartitions: Set<Int32>,
        options: RedriveOptions
    ) async throws -> RedriveReport {
        let clock = ContinuousClock()
        var lastActivity = clock.now
        var moved = 0
        var movedByPartition: [Int32: Int] = [:]
        func limitReached() -> Bool { options.limit.map { moved >= $0 } ?? false }

        while !progress.isComplete, !limitReached() {
            let messages = try await consumer.poll(maxMessages: options.batchSize, timeout: .milliseconds(200))
            let (batch, reachedEnd) = Self.select(messages, progress: progress, moved: moved, options: options)
            if !messages.isEmpty { lastActivity = clock.now }
            try consumer.pause(reachedEnd)

            if batch.isEmpty {
                if clock.now - lastActivity >= options.idleTimeout {
                    throw OperationsError(
                        kind: .timedOut,
                        message:
                            "no records from \(options.from) for \(options.idleTimeout) although \(progress.remaining) were expected; moved \(moved) (progress committed), run again to continue"
                    )
                }
                continue
            }

            let outcome = await Self.produce(batch, to: options.to, targetPartitions: targetPartitions, producer: producer)
            let commit = progress.record(batch: batch, failures: outcome.failures)
            try await Self.commit(commit, consumer: consumer, moved: moved + outcome.acknowledged, options: options)
            moved += outcome.acknowledged
            if outcome.withoutValue > 0 {
                logger.warning(
                    "Dead letters without their value were not redriven (the originals are in the source topic at the offsets their headers name)",
                    metadata: ["redrive.skipped": "\(outcome.withoutValue)"]
                )
            }
            for (partition, count) in outcome.acknowledgedByPartition { movedByPartition[partition, default: 0] += count }
            if let failure = outcome.firstFailure {
                throw OperationsError(
                    kind: .kafka,
                    message:
                        "writing to \(options.to) failed after moving \(moved) records (progress committed up to the failure): \(failure.message)",
                    underlying: failure
                )
            }
            try consumer.pause(progress.finishedPartitions.map { KafkaTopicPartition(topic: options.from, partition: $0) })
            logger.debug("Redrive batch written", metadata: ["redrive.moved": "\(moved)", "redrive.pending": "\(progress.remaining)"])
        }
        logger.info("Redrive finished", metadata: ["redrive.moved": "\(moved)", "redrive.pending": "\(progress.remaining)"])
        return RedriveReport(moved: moved, remaining: progress.remaining, movedByPartition: movedByPartition)
    }

    /// Per partition: from the group's committed offset (or the partition's start) to its end now.
    private func startingProgress(
        of topicPartitions: [KafkaTopicPartition],
        admin: KafkaAdmin,
        options: RedriveOptions
    ) async throws -> RedriveProgress {
        let committed = try await admin.committedOffsets(group: options.group, partitions: topicPartitions, timeout: options.timeout)
        var progress = RedriveProgress()
        for tp in topicPartitions {
            let (low, high) = try await admin.watermarks(tp, timeout: options.timeout)
            let start = max(committed[tp].flatMap { $0 >= 0 ? $0 : nil } ?? low, low)
            progress.add(partition: tp.partition, start: start, end: high)
        }
        return progress
    }

    /// Joins the redrive group as its only member, with every partition of the source topic.
    private func join(_ topicPartitions: [KafkaTopicPartition], options: RedriveOptions) async throws -> KafkaConsumer {
        var consumerConfiguration = KafkaConsumerConfiguration(bootstrapServers: bootstrapServers, groupID: options.group)
        consumerConfiguration.autoOffsetReset = .earliest
        // A redrive killed without leaving should not hold the group for long.
        consumerConfiguration.sessionTimeout = .seconds(6)
        consumerConfiguration.heartbeatInterval = .seconds(1)
        // Only redrives join this group, so an eager assignor is fine. It keeps no assignor state, so
        // librdkafka 2.0.2's abort when a sticky consumer is destroyed before its first assignment
        // (librdkafka issue #4312, fixed in 2.3.0; see RDKafkaClient.deinit) cannot arise either.
        consumerConfiguration.assignmentStrategy = "roundrobin"
        consumerConfiguration.additionalProperties = kafkaProperties
        switch try await KafkaConsumer.joinAsOnlyMember(
            configuration: consumerConfiguration, topic: options.from, partitions: Set(topicPartitions),
            timeout: options.timeout, logger: logger
        ) {
        case .joined(let member):
            return member
        case .timedOut:
            throw OperationsError(
                kind: .timedOut,
                message:
                    "joining group \(options.group) timed out (another redrive may be running, or a killed one still holds the group until its session timeout); nothing was moved"
            )
        case .otherMembers(let assigned, let expected):
            throw OperationsError(
                kind: .activeMembers,
                message:
                    "another redrive of \(options.from) is running (group \(options.group) has other members: this run got \(assigned) of \(expected) partitions); nothing was moved"
            )
        }
    }

    /// The polled records still to redrive, up to the limit, and the partitions whose end they reached.
    private static func select(
        _ messages: [KafkaMessage],
        progress: RedriveProgress,
        moved: Int,
        options: RedriveOptions
    ) -> (batch: [KafkaMessage], reachedEnd: [KafkaTopicPartition]) {
        var batch: [KafkaMessage] = []
        var reachedEnd: [KafkaTopicPartition] = []
        for message in messages where message.topic == options.from {
            guard let state = progress[message.partition], message.offset >= state.next else { continue }
            if message.offset >= state.end {
                reachedEnd.append(message.topicPartition)
                continue
            }
            if let limit = options.limit, moved + batch.count >= limit { break }
            batch.append(message)
        }
        return (batch, reachedEnd)
    }

    /// Commits the next offsets of the partitions that moved to the redrive group.
    private static func commit(_ commit: [Int32: Int64], consumer: KafkaConsumer, moved: Int, options: RedriveOptions) async throws {
        guard !commit.isEmpty else { return }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for (partition, next) in commit { offsets[KafkaTopicPartition(topic: options.from, partition: partition)] = next }
        do {
            try await consumer.commit(offsets)
        } catch {
            throw OperationsError(
                kind: .kafka,
                message:
                    "moved \(moved) records but could not commit progress to group \(options.group) (a rerun will redrive the last batch again): \(error)"
            )
        }
    }
}
