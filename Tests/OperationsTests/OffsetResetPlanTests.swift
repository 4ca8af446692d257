import RelayOperations
import Testing

@Suite struct OffsetResetPlanTests {
    let snapshot = GroupOffsetsSnapshot(
        group: "g", topic: "events",
        partitions: [
            GroupPartitionOffsets(partition: 1, committed: nil, low: 0, high: 7),
            GroupPartitionOffsets(partition: 0, committed: 8, low: 2, high: 10),
        ])

    @Test func lagCountsFromCommittedOrLowWatermark() {
        #expect(snapshot.partitions.map(\.partition) == [0, 1])
        #expect(snapshot[0]?.lag == 2)
        #expect(snapshot[1]?.lag == 7)
        #expect(snapshot.totalLag == 9)
        #expect(GroupPartitionOffsets(partition: 0, committed: 1, low: 5, high: 9).lag == 4)
    }

    @Test func earliestAndLatestUseWatermarks() throws {
        let earliest = try OffsetResetPlan.make(snapshot: snapshot, mode: .earliest)
        #expect(earliest.changes.map(\.target) == [2, 0])
        #expect(earliest.changes.map(\.current) == [8, nil])
        let latest = try OffsetResetPlan.make(snapshot: snapshot, mode: .latest)
        #expect(latest.changes.map(\.target) == [10, 7])
        #expect(latest.changes.map(\.lagAfter) == [0, 0])
    }

    @Test func toOffsetIsClampedIntoWatermarks() throws {
        let plan = try OffsetResetPlan.make(snapshot: snapshot, mode: .offset(1))
        #expect(plan.changes.map(\.target) == [2, 1])
        #expect(plan.changes.map(\.clampedFrom) == [1, nil])
        let high = try OffsetResetPlan.make(snapshot: snapshot, mode: .offset(100))
        #expect(high.changes.map(\.target) == [10, 7])
        let negative = try OffsetResetPlan.make(snapshot: snapshot, mode: .offset(-5))
        #expect(negative.changes.map(\.target) == [2, 0])
    }

    @Test func timestampUsesFoundOffsetsElseEnd() throws {
        let plan = try OffsetResetPlan.make(snapshot: snapshot, mode: .timestamp(milliseconds: 5), timestampOffsets: [0: 4])
        #expect(plan.changes.map(\.target) == [4, 7])
    }

    @Test func singlePartitionAndUnknownPartition() throws {
        let plan = try OffsetResetPlan.make(snapshot: snapshot, mode: .earliest, partition: 1)
        #expect(plan.changes.map(\.partition) == [1])
        #expect(plan.offsets.count == 1)
        let error = #expect(throws: OperationsError.self) {
            try OffsetResetPlan.make(snapshot: snapshot, mode: .earliest, partition: 5)
        }
        #expect(error?.kind == .invalidArgument)
        #expect(error?.message.contains("no partition 5") == true)
    }

    @Test func rendersAlignedTables() throws {
        #expect(
            OffsetsReport.render(snapshot) == """
                group g, topic events
                PARTITION  COMMITTED  LOW  END  LAG  DONE-ABOVE
                0          8          2    10   2    0
                1          -          0    7    7    0
                total lag: 9

                """)
        let plan = try OffsetResetPlan.make(snapshot: snapshot, mode: .offset(1))
        #expect(
            OffsetsReport.render(plan) == """
                reset plan for group g, topic events (to-offset 1):
                PARTITION  CURRENT  NEW  LOW  END  LAG-AFTER  NOTE
                0          8        2    2    10   8          clamped from 1
                1          -        1    0    7    6

                """)
    }

    @Test func redriveSummary() {
        #expect(RedriveReport(moved: 1, remaining: 0).summary(from: "a.dlq", to: "a") == "moved 1 record from a.dlq to a")
        #expect(
            RedriveReport(moved: 4, remaining: 6).summary(from: "a.dlq", to: "a")
                == "moved 4 records from a.dlq to a (6 left; run again to continue)")
    }
}
