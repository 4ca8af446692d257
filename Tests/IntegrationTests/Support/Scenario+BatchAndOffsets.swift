import Foundation
import Kafka
import Testing

// Steps of the batch, failure-path, start-up and offset scenarios: batch events, one-partition
// streams, dead letters of batch events and waiting for a commit.

extension Scenario {
    /// Produces the batch events' records (in order per partition).
    func produce(_ events: BatchEvents) async throws {
        try await kafka.produce(events.records)
    }

    /// Produces `events`' records one after the other, all to partition 0.
    func produceToPartitionZero(_ events: TestEvents) async throws {
        try await kafka.produceInOrder(
            events.records.map {
                var record = $0
                record.partition = 0
                return record
            }, properties: [:])
    }

    /// ``verifyDeadLetters(_:of:testStarted:)`` of batch events; records of `repeatable` partitions
    /// may be present twice (see ``DeadLetterChecks/verify(_:kafka:dlqTopic:sourceTopic:expected:originalTimestamp:testStarted:repeatable:)``).
    @discardableResult
    func verifyDeadLetters(
        _ expected: [TestEvents.Invalid], of events: BatchEvents, testStarted: Date, repeatable: Set<Int32> = []
    ) async throws -> [String: KafkaMessage] {
        try await DeadLetterChecks.verify(
            h, kafka: kafka, dlqTopic: dlq, sourceTopic: topic, expected: expected, originalTimestamp: events.timestamp,
            testStarted: testStarted, repeatable: repeatable)
    }

    /// Waits until the group's commit of `partition` (with its metadata) satisfies `accept`; returns
    /// whether it did and the commit read last.
    func waitForCommit(
        of partition: KafkaTopicPartition, timeout: Duration, _ accept: (KafkaOffsetCommit?) -> Bool
    ) async throws -> (reached: Bool, commit: KafkaOffsetCommit?) {
        var commit: KafkaOffsetCommit?
        let reached = try await eventually(timeout: timeout) {
            commit = try await kafka.committedWithMetadata(group: group, partition: partition)
            return accept(commit)
        }
        return (reached, commit)
    }
}
