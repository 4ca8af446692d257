import Kafka
import Testing

@testable import Pipeline

@Suite struct OffsetTrackerTests {
    let p0 = KafkaTopicPartition(topic: "events", partition: 0)
    let p1 = KafkaTopicPartition(topic: "events", partition: 1)

    @Test func commitsOnlyContiguousPrefix() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        for offset in Int64(10)...14 { #expect(tracker.track(p0, offset: offset) == 1) }
        tracker.markDone(p0, offset: 11, generation: 1)
        tracker.markDone(p0, offset: 12, generation: 1)
        #expect(tracker.takeCommittable().isEmpty, "10 is not done: nothing may be committed")
        tracker.markDone(p0, offset: 10, generation: 1)
        #expect(tracker.takeCommittable() == [p0: 13])
        #expect(tracker.pendingCount(p0) == 2)
        tracker.markDone(p0, offset: 14, generation: 1)
        #expect(tracker.takeCommittable().isEmpty, "13 is still pending")
        tracker.markDone(p0, offset: 13, generation: 1)
        #expect(tracker.takeCommittable() == [p0: 15])
        #expect(tracker.totalPending == 0)
    }

    @Test func reportsOnlyPartitionsThatMoved() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        tracker.assign(p1, generation: 2)
        _ = tracker.track(p0, offset: 0)
        _ = tracker.track(p1, offset: 0)
        tracker.markDone(p0, offset: 0, generation: 1)
        #expect(tracker.takeCommittable() == [p0: 1])
        #expect(tracker.takeCommittable().isEmpty, "a watermark is handed out once")
        tracker.markDone(p1, offset: 0, generation: 2)
        #expect(tracker.takeCommittable() == [p1: 1])
    }

    @Test func gapsInOffsetsDoNotHoldTheWatermark() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        _ = tracker.track(p0, offset: 5)
        _ = tracker.track(p0, offset: 9)  // 6...8 were compacted away or are transaction markers
        tracker.markDone(p0, offset: 5, generation: 1)
        tracker.markDone(p0, offset: 9, generation: 1)
        #expect(tracker.takeCommittable() == [p0: 10])
    }

    @Test func discardsResultsFromAnOlderGeneration() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        _ = tracker.track(p0, offset: 0)
        tracker.revoke(p0)
        tracker.assign(p0, generation: 2)
        _ = tracker.track(p0, offset: 0)
        #expect(tracker.markDone(p0, offset: 0, generation: 1) == false)
        #expect(tracker.takeCommittable().isEmpty)
        let marked = tracker.markDone(p0, offset: 0, generation: 2)
        #expect(marked)
        #expect(tracker.takeCommittable() == [p0: 1])
    }

    @Test func dropsRecordsOfUnassignedPartitionsAndRefetches() {
        var tracker = OffsetTracker()
        #expect(tracker.track(p0, offset: 0) == nil)
        tracker.assign(p0, generation: 7)
        #expect(tracker.track(p0, offset: 3) == 7)
        #expect(tracker.track(p0, offset: 3) == nil, "a re-fetched offset is dropped")
        #expect(tracker.track(p0, offset: 2) == nil)
        #expect(tracker.totalPending == 1)
    }

    @Test func failedCommitIsRetried() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        _ = tracker.track(p0, offset: 0)
        tracker.markDone(p0, offset: 0, generation: 1)
        let offsets = tracker.takeCommittable()
        #expect(offsets == [p0: 1])
        tracker.commitFailed(offsets)
        #expect(tracker.takeCommittable() == [p0: 1])
    }

    @Test func largeOutOfOrderCompletionKeepsInvariant() {
        var tracker = OffsetTracker()
        tracker.assign(p0, generation: 1)
        let count: Int64 = 5_000
        for offset in 0..<count { _ = tracker.track(p0, offset: offset) }
        var rng = SplitMix(seed: 42)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        var done = Set<Int64>()
        for offset in order {
            tracker.markDone(p0, offset: offset, generation: 1)
            done.insert(offset)
            var expected: Int64 = 0
            while done.contains(expected) { expected += 1 }
            let committable = tracker.takeCommittable()[p0]
            if let committable { #expect(committable == expected) }
            #expect(tracker.pendingCount(p0) == Int(count - expected))
        }
        #expect(tracker.totalPending == 0)
    }
}

/// A small seeded generator so shuffles are repeatable.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
