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
        let committed = try await admin.committedOffsets(group: options.group, partitions: topicPartitions, timeout: options.timeout)

        var progress = RedriveProgress()
        for tp in topicPartitions {
            let (low, high) = try await admin.watermarks(tp, timeout: options.timeout)
            let start = max(committed[tp].flatMap { $0 >= 0 ? $0 : nil } ?? low, low)
            progress.add(partition: tp.partition, start: start, end: high)
        }
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
        let consumer: KafkaConsumer
        switch try await KafkaConsumer.joinAsOnlyMember(
            configuration: consumerConfiguration, topic: options.from, partitions: Set(topicPartitions),
            timeout: options.timeout, logger: logger
        ) {
        case .joined(let member):
            consumer = member
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
            if !commit.isEmpty {
                var offsets: [KafkaTopicPartition: Int64] = [:]
                for (partition, next) in commit { offsets[KafkaTopicPartition(topic: options.from, partition: partition)] = next }
                do {
                    try await consumer.commit(offsets)
                } catch {
                    throw OperationsError(
                        kind: .kafka,
                        message:
                            "moved \(moved + outcome.acknowledged) records but could not commit progress to group \(options.group) (a rerun will redrive the last batch again): \(error)"
                    )
                }
            }
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

    /// What happened to one batch: per record index, the write error if it failed.
    struct BatchOutcome {
        var failures: [Int: KafkaError] = [:]
        var acknowledged = 0
        var acknowledgedByPartition: [Int32: Int] = [:]
        /// Dead letters without their value, left out.
        var withoutValue = 0
        var firstFailure: KafkaError? { failures.sorted { $0.key < $1.key }.first?.value }
    }

    /// Writes the batch with ``KafkaProducer/sendInLaneOrder(_:lane:)``: the records of a key in offset
    /// order (after a failure, the key's later records are not written), all keys concurrently. Records
    /// without a key form one lane per source partition.
    ///
    /// A dead letter written without its value (the dead-letter topic could not take the record's size)
    /// is not redriven: writing it back would produce a tombstone. It counts as handled and is reported in
    /// ``BatchOutcome/withoutValue``; its original is in the source topic at the offset its headers name.
    static func produce(_ batch: [KafkaMessage], to topic: String, targetPartitions: Set<Int32>, producer: KafkaProducer) async -> BatchOutcome {
        let sendable = batch.indices.filter { !isValueOmitted(batch[$0]) }
        let records = sendable.map { redrivenRecord(for: batch[$0], to: topic, targetPartitions: targetPartitions) }
        let sent = await producer.sendInLaneOrder(records) { index, _ in
            batch[sendable[index]].key.map(LaneID.key) ?? .partition(batch[sendable[index]].partition)
        }
        var results = [KafkaError?](repeating: nil, count: batch.count)
        for (position, index) in sendable.enumerated() { results[index] = sent[position] }
        var outcome = BatchOutcome()
        outcome.withoutValue = batch.count - sendable.count
        for (index, error) in results.enumerated() {
            if !sendable.contains(index) { continue }
            if let error {
                outcome.failures[index] = error
            } else {
                outcome.acknowledged += 1
                outcome.acknowledgedByPartition[batch[index].partition, default: 0] += 1
            }
        }
        return outcome
    }

    enum LaneID: Hashable {
        case key([UInt8])
        case partition(Int32)
    }
}

/// Per source partition: the next offset to redrive and the end offset seen at start.
struct RedriveProgress {
    struct Partition {
        var next: Int64
        var end: Int64
    }

    private var partitions: [Int32: Partition] = [:]

    mutating func add(partition: Int32, start: Int64, end: Int64) {
        partitions[partition] = Partition(next: start, end: end)
    }

    subscript(partition: Int32) -> Partition? { partitions[partition] }

    /// Records between the next offset and the end offset, over every partition.
    var remaining: Int {
        partitions.values.reduce(0) { $0 + Int(max(0, $1.end - $1.next)) }
    }

    var isComplete: Bool { partitions.values.allSatisfy { $0.next >= $0.end } }

    var finishedPartitions: Set<Int32> {
        Set(partitions.filter { $0.value.next >= $0.value.end }.keys)
    }

    /// Advances each partition through its records that were written, up to the first failure (in
    /// offset order), and returns the offsets to commit (next offset to read) for partitions that moved.
    mutating func record(batch: [KafkaMessage], failures: [Int: KafkaError]) -> [Int32: Int64] {
        var byPartition: [Int32: [(offset: Int64, failed: Bool)]] = [:]
        for (index, message) in batch.enumerated() {
            byPartition[message.partition, default: []].append((message.offset, failures[index] != nil))
        }
        var commit: [Int32: Int64] = [:]
        for (partition, records) in byPartition {
            guard var state = partitions[partition] else { continue }
            for record in records.sorted(by: { $0.offset < $1.offset }) {
                if record.failed { break }
                state.next = record.offset + 1
            }
            if state.next != partitions[partition]?.next {
                partitions[partition] = state
                commit[partition] = state.next
            }
        }
        return commit
    }
}
