import Foundation
import JuneClient
import Kafka
import TestSupport
import Testing

@testable import Pipeline
@testable import RelayFormats

/// Commits of a real `Pipeline` against the librdkafka mock cluster when the broker refuses them:
/// metadata too large, and commits that could not be confirmed while an operator moved the offsets.
@Suite(.serialized) struct PipelineCommitTests {
    typealias Support = PipelineKafkaSupport

    /// Offsets 0-9 of one partition, "stuck" (503 forever) at 2 and 5: done above the committed offset 2
    /// are 3-4 and 6-9. Periodic commits are off, so the final commit is the only one; the broker refuses
    /// its metadata `refusals` times with OFFSET_METADATA_TOO_LARGE. Returns the group's commit after stop.
    func finalCommitRefusedAsTooLarge(refusals: Int) async throws -> (KafkaOffsetCommit?, Pipeline) {
        let (cluster, topic, group) = try Support.cluster(topic: "too-large", partitions: 1)
        let values = (0..<10).map { Support.event(user: [2, 5].contains($0) ? "stuck" : "user-\($0)", tag: $0) }
        try await Support.produce(cluster, topic: topic, values: values)
        let log = CallLog()
        var configuration = Support.pipelineConfiguration(topic: topic, deadLetterTopic: topic + ".dlq")
        configuration.commitInterval = .seconds(600)
        let pipeline = try Support.pipelineWithAStuckUser(cluster, group: group, configuration: configuration, log: log)
        let running = Task { try await pipeline.run() }
        defer { pipeline.requestStop() }
        let othersDone = try await Support.wait(within: .seconds(20)) {
            Set(log.events().filter { $0.user != "stuck" && $0.ended != nil }.compactMap(\.tag)) == [0, 1, 3, 4, 6, 7, 8, 9]
        }
        #expect(othersDone, "calls: \(log.summary)")
        cluster.pushRequestErrors(
            apiKey: KafkaMockCluster.APIKey.offsetCommit, errors: Array(repeating: KafkaError.Code.offsetMetadataTooLarge, count: refusals))
        pipeline.requestStop()
        try await running.value
        let committed = try await Support.committed(cluster, group: group, partition: KafkaTopicPartition(topic: topic, partition: 0))
        return (committed, pipeline)
    }

    @Test(.timeLimit(.minutes(1)))
    func metadataRefusedAsTooLargeIsCommittedWithHalfTheRanges() async throws {
        let (committed, pipeline) = try await finalCommitRefusedAsTooLarge(refusals: 1)
        #expect(committed?.offset == 2, "\(String(describing: committed))")
        if let committed {
            #expect(OffsetCommitMetadata.decode(committed.metadata, partition: 0, committed: 2) == .ranges([3..<5]), "\(committed.metadata)")
        }
        #expect(pipeline.metrics.commitFailureCount == 0, "the partition was committed")
    }

    @Test(.timeLimit(.minutes(1)))
    func metadataRefusedTwiceIsCommittedWithoutRanges() async throws {
        let (committed, pipeline) = try await finalCommitRefusedAsTooLarge(refusals: 2)
        #expect(committed == KafkaOffsetCommit(offset: 2, metadata: ""), "\(String(describing: committed))")
        #expect(pipeline.metrics.commitFailureCount == 0, "the partition was committed")
    }

    // MARK: A member out of the group, and an operator's reset meanwhile

    /// Two partitions of 10 events (tags 0-9 and 10-19). A commits the first 5 of each (the group at 5:
    /// the base of what follows), then its commits fail while it delivers the rest (unconfirmed at 10),
    /// then it loses its assignment (its heartbeat answered UNKNOWN_MEMBER_ID). While A is out, an
    /// operator's tool (a member of the group) resets the partitions it gets to 0 and leaves. When A gets
    /// them back it must replay them, not re-apply its unconfirmed commit over the reset; a partition
    /// nobody moved (still at 5) gets A's unconfirmed commit, so A does not re-send its 5-9.
    @Test(.timeLimit(.minutes(3)))
    func aMemberOutOfTheGroupRejoinsAfterAResetAndReplays() async throws {
        let (cluster, topic, group) = try Support.cluster(topic: "rejoin", partitions: 2)
        let partitions = (Int32(0)..<2).map { KafkaTopicPartition(topic: topic, partition: $0) }
        let log = CallLog()
        let pipeline = try Support.pipeline(
            cluster, group: group, configuration: Support.pipelineConfiguration(topic: topic, deadLetterTopic: topic + ".dlq"),
            sender: ScriptedSender.deliveringEverything("A", log: log)
        )
        let running = Task { try await pipeline.run() }
        defer { pipeline.requestStop() }

        try await Self.produceRejoinEvents(cluster, topic: topic, tags: 0..<5)
        let atBase = try await Support.waitForCommits(cluster, group: group, partitions: partitions, toBe: [5, 5], within: .seconds(30))
        try #require(atBase, "the first half committed")

        // INVALID_COMMIT_OFFSET_SIZE: a refusal librdkafka does not retry and that is no rebalance.
        cluster.pushRequestErrors(
            apiKey: KafkaMockCluster.APIKey.offsetCommit, errors: Array(repeating: KafkaError.Code.invalidCommitOffsetSize, count: 10_000))
        try await Self.produceRejoinEvents(cluster, topic: topic, tags: 5..<10)
        let allDelivered = try await Support.wait(within: .seconds(20)) {
            Set(log.events().compactMap(\.tag)) == Set(Array(0..<10) + Array(10..<20)) && pipeline.metrics.commitFailureCount > 0
        }
        try #require(allDelivered, "calls: \(log.summary)")
        let before = log.events().count

        // Commits are let through again before the loss takes effect (at the next heartbeat): A may
        // rejoin within milliseconds of losing its assignment, and a recovered commit refused then would
        // leave it starting from the old offset (a re-send, at-least-once, but not what this checks).
        cluster.pushRequestErrors(apiKey: KafkaMockCluster.APIKey.heartbeat, errors: [KafkaError.Code.unknownMemberID])
        cluster.clearRequestErrors(apiKey: KafkaMockCluster.APIKey.offsetCommit)
        let lost = try await Support.wait(within: .seconds(15)) { pipeline.snapshot.assignedPartitions == 0 }
        try #require(lost, "A lost its assignment")

        let reset = try await Self.resetByAnOperatorsTool(cluster, group: group, topic: topic)
        let kept = partitions.filter { !reset.contains($0) }
        let expectedTags = reset.flatMap { tp in (0..<10).map { Int(tp.partition) * 10 + $0 } }
        let replayed = try await Support.wait(within: .seconds(60)) {
            Set(log.events().dropFirst(before).compactMap(\.tag)).isSuperset(of: expectedTags)
                && pipeline.snapshot.assignedPartitions == 2
        }
        #expect(replayed, "reset \(reset): A replays them; calls after the loss: \(log.events().dropFirst(before).compactMap(\.tag))")
        try await Task.sleep(for: .seconds(1))
        let again = log.events().dropFirst(before).compactMap(\.tag)
        for tp in kept {
            let resent = again.filter { $0 / 10 == Int(tp.partition) }
            #expect(resent.isEmpty, "\(tp) was not moved: A's unconfirmed commit is re-applied, nothing re-sent; got \(resent)")
        }
        pipeline.requestStop()
        try await running.value
        #expect(try await Support.committedOffsets(cluster, group: group, partitions: partitions) == [10, 10])
    }

    /// Events `tags` of the rejoin test in both partitions, a user per event.
    private static func produceRejoinEvents(_ cluster: KafkaMockCluster, topic: String, tags: Range<Int>) async throws {
        try await Support.produce(cluster, topic: topic, partitions: 2, tags: tags) { partition, index in "u\(partition)-\(index)" }
    }

    /// The operator's tool: a member of the group (the dev broker refuses standalone commits once a
    /// group had members), resetting whatever it is given to 0, then leaving. Returns what it reset.
    private static func resetByAnOperatorsTool(
        _ cluster: KafkaMockCluster,
        group: String,
        topic: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [KafkaTopicPartition] {
        let tool = try KafkaConsumer(configuration: Support.consumerConfiguration(cluster, group: group), logger: Support.logger)
        try tool.subscribe(topics: [topic])
        var reset: [KafkaTopicPartition] = []
        let toolDeadline = ContinuousClock.now + .seconds(60)
        while reset.isEmpty, ContinuousClock.now < toolDeadline {
            _ = try await tool.poll(maxMessages: 100, timeout: .milliseconds(100))
            reset = try tool.assignment()
        }
        try #require(!reset.isEmpty, "the tool was given a partition", sourceLocation: sourceLocation)
        try await tool.commit(Dictionary(uniqueKeysWithValues: reset.map { ($0, Int64(0)) }))
        try await tool.close()
        return reset
    }
}
