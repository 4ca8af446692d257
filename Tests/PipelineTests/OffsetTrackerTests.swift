import Kafka
import TestSupport
import Testing

@testable import Pipeline
@testable import RelayFormats

@Suite struct OffsetTrackerTests {
    let p0 = TestRecords.p0
    let p1 = TestRecords.p1

    /// The done ranges a commit's metadata lists (nil: none or unreadable).
    func listed(_ commit: KafkaOffsetCommit?) -> [Range<Int64>]? {
        guard let commit else { return nil }
        if case .ranges(let ranges) = OffsetCommitMetadata.decode(commit.metadata, partition: p0.partition, committed: commit.offset) {
            return ranges
        }
        return nil
    }

    @Test func commitsOnlyTheContiguousPrefixAndListsTheDoneOnesAbove() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        for offset in Int64(10)...14 { #expect(tracker.track(p0, offset: offset) == .process(epoch: 1)) }
        tracker.markDone(p0, offset: 11, epoch: 1)
        tracker.markDone(p0, offset: 12, epoch: 1)
        var commit = tracker.takeCommittable()[p0]
        #expect(commit?.offset == 10, "10 is not done: the committed offset stays at 10")
        #expect(listed(commit) == [11..<13], "11 and 12 are listed as done in the metadata")
        tracker.markDone(p0, offset: 10, epoch: 1)
        commit = tracker.takeCommittable()[p0]
        #expect(commit == KafkaOffsetCommit(offset: 13, metadata: ""))
        #expect(tracker.unfinishedCount(p0) == 2)
        tracker.markDone(p0, offset: 14, epoch: 1)
        commit = tracker.takeCommittable()[p0]
        #expect(commit?.offset == 13, "13 is still unfinished")
        #expect(listed(commit) == [14..<15])
        tracker.markDone(p0, offset: 13, epoch: 1)
        #expect(tracker.takeCommittable() == [p0: KafkaOffsetCommit(offset: 15, metadata: "")])
        #expect(tracker.totalUnfinished == 0)
    }

    @Test func handsOutEachCommitOnceAndOnlyForPartitionsThatMoved() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        tracker.assign(p1, epoch: 2)
        #expect(tracker.takeCommittable().isEmpty, "nothing seen yet: nothing to commit")
        _ = tracker.track(p0, offset: 0)
        _ = tracker.track(p1, offset: 0)
        tracker.markDone(p0, offset: 0, epoch: 1)
        let first = tracker.takeCommittable()
        #expect(first[p0] == KafkaOffsetCommit(offset: 1))
        #expect(first[p1] == KafkaOffsetCommit(offset: 0), "p1's position is known (0) and not committed yet")
        #expect(tracker.takeCommittable().isEmpty, "a commit is handed out once")
        tracker.markDone(p1, offset: 0, epoch: 2)
        #expect(tracker.takeCommittable() == [p1: KafkaOffsetCommit(offset: 1)])
        #expect(tracker.takeCommittable(only: [p0]).isEmpty)
    }

    @Test func gapsInOffsetsDoNotHoldTheWatermark() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        _ = tracker.track(p0, offset: 5)
        _ = tracker.track(p0, offset: 9)  // 6...8 were compacted away or are transaction markers
        tracker.markDone(p0, offset: 9, epoch: 1)
        let commit = tracker.takeCommittable()[p0]
        #expect(commit?.offset == 5)
        #expect(listed(commit) == [6..<10], "offsets that never arrived count as done")
        tracker.markDone(p0, offset: 5, epoch: 1)
        #expect(tracker.takeCommittable() == [p0: KafkaOffsetCommit(offset: 10)])
    }

    @Test func discardsResultsFromAnOlderGeneration() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        _ = tracker.track(p0, offset: 0)
        #expect(tracker.revoke(p0)?.unfinishedCount == 1)
        #expect(tracker.totalUnfinished == 0)
        tracker.assign(p0, epoch: 2)
        #expect(tracker.track(p0, offset: 0) == .process(epoch: 2))
        #expect(tracker.markDone(p0, offset: 0, epoch: 1) == false)
        #expect(tracker.unfinishedCount(p0) == 1)
        #expect(tracker.takeCommittable()[p0]?.offset == 0)
        #expect(tracker.markDone(p0, offset: 0, epoch: 2) == true)
        #expect(tracker.takeCommittable()[p0]?.offset == 1)
        #expect(tracker.markDone(p1, offset: 0, epoch: 2) == false, "an unassigned partition")
    }

    @Test func reassignWithoutRevokeKeepsTheTotalRight() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        for offset in Int64(0)..<3 { _ = tracker.track(p0, offset: offset) }
        #expect(tracker.totalUnfinished == 3)
        tracker.assign(p0, epoch: 2)
        #expect(tracker.totalUnfinished == 0)
        #expect(tracker.epoch(of: p0) == 2)
    }

    @Test func dropsRecordsOfUnassignedPartitionsAndRefetches() {
        var tracker = OffsetTracker()
        #expect(tracker.track(p0, offset: 0) == .drop)
        tracker.assign(p0, epoch: 7)
        #expect(tracker.track(p0, offset: 3) == .process(epoch: 7))
        #expect(tracker.track(p0, offset: 3) == .drop, "a re-fetched offset is dropped")
        #expect(tracker.track(p0, offset: 2) == .drop)
        #expect(tracker.totalUnfinished == 1)
        #expect(tracker.markDone(p0, offset: 3, epoch: 7) == true)
        #expect(tracker.markDone(p0, offset: 3, epoch: 7) == true, "a second result for a current record is not stale")
        #expect(tracker.totalUnfinished == 0, "but it is counted once")
    }

    @Test func failedCommitIsRetried() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        _ = tracker.track(p0, offset: 0)
        _ = tracker.track(p0, offset: 1)
        tracker.markDone(p0, offset: 0, epoch: 1)
        let commits = tracker.takeCommittable()
        #expect(commits == [p0: KafkaOffsetCommit(offset: 1)])
        tracker.commitFailed(commits)
        #expect(tracker.takeCommittable() == commits)
        tracker.markDone(p0, offset: 1, epoch: 1)
        let newer = tracker.takeCommittable()
        tracker.commitFailed(commits)
        #expect(tracker.takeCommittable().isEmpty, "a failure of an older commit does not undo a newer one")
        #expect(newer == [p0: KafkaOffsetCommit(offset: 2)])
    }

    /// librdkafka may still make a commit that timed out, after a newer one: the partition is committed
    /// again by every round until the late-commit window has passed, then once more at its end.
    @Test func aTimedOutCommitIsRepeatedUntilItsLateWindowEnds() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        tracker.assign(p1, epoch: 2)
        _ = tracker.track(p0, offset: 0)
        _ = tracker.track(p1, offset: 0)
        tracker.markDone(p0, offset: 0, epoch: 1)
        tracker.markDone(p1, offset: 0, epoch: 2)
        let start = ContinuousClock.now
        let timedOut = tracker.takeCommittable(only: [p0], at: start)
        #expect(timedOut == [p0: KafkaOffsetCommit(offset: 1)])
        tracker.commitFailed(timedOut, lateUntil: start + .seconds(10))
        _ = tracker.track(p0, offset: 1)
        tracker.markDone(p0, offset: 1, epoch: 1)
        #expect(tracker.takeCommittable(at: start + .seconds(1)) == [p0: KafkaOffsetCommit(offset: 2), p1: KafkaOffsetCommit(offset: 1)])
        #expect(tracker.takeCommittable(at: start + .seconds(2)) == [p0: KafkaOffsetCommit(offset: 2)], "unchanged, but inside the window")
        #expect(tracker.takeCommittable(at: start + .seconds(9)) == [p0: KafkaOffsetCommit(offset: 2)])
        #expect(tracker.takeCommittable(at: start + .seconds(10)) == [p0: KafkaOffsetCommit(offset: 2)], "the last re-commit")
        #expect(tracker.takeCommittable(at: start + .seconds(11)).isEmpty)
        // A failure with no late window (the broker answered) only retries once.
        _ = tracker.track(p1, offset: 1)
        tracker.markDone(p1, offset: 1, epoch: 2)
        let answered = tracker.takeCommittable(at: start + .seconds(12))
        tracker.commitFailed(answered)
        #expect(tracker.takeCommittable(at: start + .seconds(13)) == answered)
        #expect(tracker.takeCommittable(at: start + .seconds(14)).isEmpty)
    }

    @Test func skipsTheOffsetsTheCommittedMetadataListsAsDone() {
        var tracker = OffsetTracker()
        let metadata = OffsetCommitMetadata.encode(partition: p0.partition, committed: 100, ranges: [101..<103, 105..<106])
        tracker.assign(p0, epoch: 1, committed: KafkaOffsetCommit(offset: 100, metadata: metadata))
        #expect(tracker.takeCommittable().isEmpty, "the state read at assignment is already committed")
        var results: [Int64: OffsetTracker.TrackResult] = [:]
        for offset in Int64(100)...106 { results[offset] = tracker.track(p0, offset: offset) }
        #expect(results[100] == .process(epoch: 1))
        #expect(results[101] == .skip && results[102] == .skip && results[105] == .skip)
        #expect(results[103] == .process(epoch: 1) && results[104] == .process(epoch: 1))
        #expect(results[106] == .process(epoch: 1))
        #expect(tracker.totalUnfinished == 4, "skipped records are not unfinished")
        for offset: Int64 in [100, 103, 104, 106] { tracker.markDone(p0, offset: offset, epoch: 1) }
        #expect(tracker.takeCommittable() == [p0: KafkaOffsetCommit(offset: 107)])
    }

    @Test func metadataRangesNotReachedYetAreCarriedForward() {
        var tracker = OffsetTracker()
        let metadata = OffsetCommitMetadata.encode(partition: p0.partition, committed: 0, ranges: [2..<4, 10..<12])
        tracker.assign(p0, epoch: 1, committed: KafkaOffsetCommit(offset: 0, metadata: metadata))
        _ = tracker.track(p0, offset: 0)
        _ = tracker.track(p0, offset: 1)
        tracker.markDone(p0, offset: 1, epoch: 1)
        let commit = tracker.takeCommittable()[p0]
        #expect(commit?.offset == 0)
        #expect(listed(commit) == [1..<4, 10..<12], "what this member did (1), then what the previous owner did beyond it")
    }

    @Test
    func aFetchPositionResetBelowTheCommittedOffsetIsProcessed() {
        // The committed offset is beyond the log's end (the log was truncated by an unclean leader
        // election, or the topic re-created): librdkafka resets the position (auto.offset.reset) below
        // it. Those records are new data and must be processed, not dropped as re-fetched.
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1, committed: KafkaOffsetCommit(offset: 100))
        #expect(tracker.track(p0, offset: 0) == .process(epoch: 1))
        #expect(tracker.track(p0, offset: 1) == .process(epoch: 1))
        #expect(tracker.partitions[p0]?.committable == 0, "nothing below the first unfinished record may be committed")
    }

    @Test func unreadableMetadataIsIgnored() {
        for metadata in ["", "jr2:AQE=", "someone else's", "jr1:!!!!", "jr1:gA==", "jr1:AAA="] {
            var tracker = OffsetTracker()
            tracker.assign(p0, epoch: 1, committed: KafkaOffsetCommit(offset: 50, metadata: metadata))
            for offset in Int64(50)..<55 {
                #expect(tracker.track(p0, offset: offset) == .process(epoch: 1), "metadata \(metadata)")
            }
        }
    }

    @Test func doneRecordsBehindAStuckOneAreUncommittedNotUnfinished() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        for offset in Int64(0)..<10 { _ = tracker.track(p0, offset: offset) }
        for offset in Int64(1)..<10 { tracker.markDone(p0, offset: offset, epoch: 1) }
        #expect(tracker.unfinishedCount(p0) == 1)
        #expect(tracker.totalUnfinished == 1)
        #expect(tracker.uncommittedCount(p0) == 9)
        _ = tracker.track(p0, offset: 15)  // 10...14 never arrive
        #expect(tracker.uncommittedCount(p0) == 14, "gaps above the stuck offset count as done")
        tracker.markDone(p0, offset: 0, epoch: 1)
        #expect(tracker.uncommittedCount(p0) == 0)
        #expect(tracker.unfinishedCount(p0) == 1)
    }

    @Test func oldestUnfinishedSinceFollowsTheLowestUnfinishedRecord() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        let t0 = ContinuousClock.now
        _ = tracker.track(p0, offset: 0, at: t0)
        _ = tracker.track(p0, offset: 1, at: t0 + .seconds(1))
        _ = tracker.track(p0, offset: 2, at: t0 + .seconds(2))
        #expect(tracker.partitions[p0]?.oldestUnfinishedSince == t0)
        tracker.markDone(p0, offset: 1, epoch: 1)
        #expect(tracker.partitions[p0]?.oldestUnfinishedSince == t0, "finishing a younger record does not change it")
        tracker.markDone(p0, offset: 0, epoch: 1)
        #expect(tracker.partitions[p0]?.oldestUnfinishedSince == t0 + .seconds(2))
        tracker.markDone(p0, offset: 2, epoch: 1)
        #expect(tracker.partitions[p0]?.oldestUnfinishedSince == nil)
    }

    @Test func largeOutOfOrderCompletionKeepsInvariant() {
        var tracker = OffsetTracker()
        tracker.assign(p0, epoch: 1)
        let count: Int64 = 5_000
        for offset in 0..<count { _ = tracker.track(p0, offset: offset) }
        var rng = SplitMix(seed: 42)
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        var done = Set<Int64>()
        var expected: Int64 = 0
        for (index, offset) in order.enumerated() {
            tracker.markDone(p0, offset: offset, epoch: 1)
            done.insert(offset)
            while done.contains(expected) { expected += 1 }
            #expect(tracker.partitions[p0]?.committable == expected)
            #expect(tracker.unfinishedCount(p0) == Int(count) - index - 1)
            #expect(tracker.uncommittedCount(p0) == Int64(done.count) - expected)
        }
        #expect(tracker.totalUnfinished == 0)
        #expect(tracker.takeCommittable() == [p0: KafkaOffsetCommit(offset: count)])
    }
}
