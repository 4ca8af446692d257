import Foundation
import Kafka
import Logging
import RelayOperations
import Testing

/// `offsets show|reset` against librdkafka's mock cluster: 2 partitions of 10 records, record `i` of
/// each partition stamped `base + i` seconds; the group read everything of partition 0 and 5 records of
/// partition 1 as a member (so only a member's commit is accepted afterwards, as on the dev broker).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct OffsetsResetTests {
    static let topic = "events"
    static let base: Int64 = 1_795_694_400_000  // 2026-11-26T12:00:00Z

    let kafka: KafkaFixture
    let group = "relay-\(UUID().uuidString)"

    init() async throws {
        kafka = try KafkaFixture(topics: [Self.topic: 2])
        for partition: Int32 in [0, 1] {
            try await kafka.produce(topic: Self.topic, partition: partition, count: 10) { Self.base + Int64($0) * 1_000 }
        }
        try await kafka.commitAsRelay(group: group, topic: Self.topic, partitions: 2, offsets: [0: 10, 1: 5])
    }

    func tool() throws -> ConsumerGroupOffsets {
        ConsumerGroupOffsets(
            admin: try kafka.admin(additionalProperties: ConsumerGroupOffsets.toolProperties([:])), timeout: .seconds(20), logger: kafka.logger)
    }

    func committed() async throws -> [Int32: Int64?] {
        let snapshot = try await tool().snapshot(group: group, topic: Self.topic)
        return Dictionary(uniqueKeysWithValues: snapshot.partitions.map { ($0.partition, $0.committed) })
    }

    @Test func showReportsCommittedWatermarksAndLag() async throws {
        let snapshot = try await tool().snapshot(group: group, topic: Self.topic)
        #expect(
            snapshot.partitions == [
                GroupPartitionOffsets(partition: 0, committed: 10, low: 0, high: 10),
                GroupPartitionOffsets(partition: 1, committed: 5, low: 0, high: 10),
            ])
        #expect(snapshot.totalLag == 5)
        let fresh = try await tool().snapshot(group: "never-used", topic: Self.topic)
        #expect(fresh.partitions.map(\.committed) == [nil, nil])
        #expect(fresh.totalLag == 20)
    }

    @Test(arguments: [
        (OffsetResetMode.earliest, [Int32(0): Int64(0), 1: 0]),
        (.latest, [0: 10, 1: 10]),
        (.offset(3), [0: 3, 1: 3]),
        (.offset(42), [0: 10, 1: 10]),
        (.timestamp(milliseconds: base + 3_500), [0: 4, 1: 4]),
        (.timestamp(milliseconds: base), [0: 0, 1: 0]),
        (.timestamp(milliseconds: base + 60_000), [0: 10, 1: 10]),
    ])
    func resetMovesCommittedOffsets(mode: OffsetResetMode, expected: [Int32: Int64]) async throws {
        let tool = try tool()
        let plan = try await tool.plan(group: group, topic: Self.topic, mode: mode)
        #expect(plan.offsets.count == 2)
        #expect(plan.changes.map(\.current) == [10, 5])
        let after = try await tool.apply(plan)
        #expect(Dictionary(uniqueKeysWithValues: after.partitions.map { ($0.partition, $0.committed ?? -1) }) == expected)
    }

    @Test func resetOfOnePartitionLeavesTheOthers() async throws {
        let tool = try tool()
        let plan = try await tool.plan(group: group, topic: Self.topic, partition: 1, mode: .earliest)
        try await tool.apply(plan)
        #expect(try await committed() == [0: 10, 1: 0])
    }

    @Test func dryRunChangesNothing() async throws {
        // A dry run is planning without applying: planning never joins the group or commits.
        let plan = try await tool().plan(group: group, topic: Self.topic, mode: .earliest)
        #expect(plan.changes.map(\.target) == [0, 0])
        #expect(try await committed() == [0: 10, 1: 5])
    }

    @Test func resetWithAnActiveMemberIsRefused() async throws {
        let active = try await kafka.joinedMember(group: group, topic: Self.topic, partitions: 2)
        // The active member keeps polling, as a running relay does, so it takes part in the rebalance.
        let polling = Task {
            while !Task.isCancelled { _ = try? await active.poll(maxMessages: 100, timeout: .milliseconds(100)) }
        }
        defer { polling.cancel() }
        let tool = try tool()
        let plan = try await tool.plan(group: group, topic: Self.topic, mode: .earliest)
        let error = await #expect(throws: OperationsError.self) {
            try await tool.apply(plan)
        }
        #expect(error?.kind == .activeMembers)
        #expect(error?.message.contains("active members") == true)
        polling.cancel()
        _ = await polling.result
        try await active.close()
        #expect(try await committed() == [0: 10, 1: 5])
    }
}
