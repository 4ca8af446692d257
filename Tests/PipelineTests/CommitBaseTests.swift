import Kafka
import Testing

@testable import Pipeline
@testable import RelayFormats

/// Commit metadata is trusted only over the offset it was written for, and a commit this member could
/// not confirm is re-applied only over the offset it was based on (docs/design.md, Offsets).
@Suite struct CommitBaseTests {
    let p0 = TestRecords.p0
    let p1 = TestRecords.p1

    /// Feeds offsets `range` into a fresh partition state and returns which ones it would process.
    func processed(committed: KafkaOffsetCommit, partition: Int32 = 0, _ range: ClosedRange<Int64>) -> (Set<Int64>, PartitionOffsets) {
        var offsets = PartitionOffsets(epoch: 1, partition: partition, committed: committed)
        var result: Set<Int64> = []
        for offset in range where offsets.append(offset, at: .now) == .process { result.insert(offset) }
        return (result, offsets)
    }

    // MARK: Metadata

    @Test func metadataWrittenForAnotherOffsetIsIgnoredAndEverythingAboveTheStoredOffsetIsProcessed() {
        // Written for offset 1000 (done: 1001-1009, 1020-1029), stored with offset 955 (MirrorMaker 2).
        let metadata = OffsetCommitMetadata.encode(partition: 0, committed: 1_000, ranges: [1_001..<1_010, 1_020..<1_030])
        let (moved, movedState) = processed(committed: KafkaOffsetCommit(offset: 955, metadata: metadata), 955...1_040)
        #expect(moved == Set(955...1_040), "every offset from 955 is processed; skipped \(Set(955...1_040).subtracting(moved).sorted())")
        #expect(movedState.ignoredMetadata == .baseMismatch)

        // The same metadata where it was written: its ranges are skipped.
        let (inPlace, inPlaceState) = processed(committed: KafkaOffsetCommit(offset: 1_000, metadata: metadata), 1_000...1_040)
        #expect(inPlace == Set(1_000...1_040).subtracting(Set(1_001..<1_010)).subtracting(Set(1_020..<1_030)))
        #expect(inPlaceState.ignoredMetadata == nil)

        // Another partition's metadata.
        let (other, otherState) = processed(committed: KafkaOffsetCommit(offset: 1_000, metadata: metadata), partition: 1, 1_000...1_040)
        #expect(other == Set(1_000...1_040))
        #expect(otherState.ignoredMetadata == .partitionMismatch)
    }

    @Test func oldMalformedAndForeignMetadataIsIgnored() {
        // jr1 of "done: 1001-1002" (gap 1, length 2) relative to 1000.
        let cases: [(String, OffsetCommitMetadata.IgnoredReason)] = [
            ("jr1:AQI=", .oldVersion),
            ("jr2:0:1000:AQ", .malformed),
            ("jr2:0:1000:", .malformed),
            ("jr2:0:x:AQI=", .malformed),
            ("mm2-checkpoint", .foreign),
        ]
        for (metadata, reason) in cases {
            let (result, state) = processed(committed: KafkaOffsetCommit(offset: 1_000, metadata: metadata), 1_000...1_010)
            #expect(result == Set(1_000...1_010), "\(metadata): everything processed")
            #expect(state.ignoredMetadata == reason, "\(metadata)")
        }
        let (_, none) = processed(committed: KafkaOffsetCommit(offset: 1_000), 1_000...1_001)
        #expect(none.ignoredMetadata == nil, "no metadata is nothing to ignore")
    }

    @Test func assignmentReportsIgnoredMetadataPerPartition() {
        var state = RelayWork.testing(maxInFlight: 4)
        let good = OffsetCommitMetadata.encode(partition: 1, committed: 10, ranges: [11..<12])
        let ignored = state.assign(
            [p0, p1],
            committed: [
                p0: KafkaOffsetCommit(offset: 10, metadata: "jr1:AQE="),
                p1: KafkaOffsetCommit(offset: 10, metadata: good),
            ])
        #expect(ignored == [p0: .oldVersion])
    }

    // MARK: Unconfirmed commits

    /// A state whose p0 ownership started with the group at `base` (nil: no offset) and whose commit
    /// of offset 100 was not confirmed (the assignment was then lost).
    func stateWithUnconfirmedCommit(base: Int64?) -> RelayWork {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0], committed: base.map { [p0: KafkaOffsetCommit(offset: $0)] } ?? [:])
        state.keepUnconfirmed([p0: KafkaOffsetCommit(offset: 100)])
        state.beginRevoke([p0])
        _ = state.finishRevoke([p0])
        return state
    }

    @Test func anUnconfirmedCommitIsReappliedOverItsBaseOrBetweenBaseAndIt() {
        for now: Int64 in [40, 41, 99] {
            var state = stateWithUnconfirmedCommit(base: 40)
            let taken = state.takeUnconfirmed(for: [p0], committed: [p0: KafkaOffsetCommit(offset: now)])
            #expect(taken[p0] == UnconfirmedCommits.Entry(commit: KafkaOffsetCommit(offset: 100), base: 40), "group at \(now)")
            #expect(state.unconfirmedCommits.isEmpty)
        }
    }

    @Test func anUnconfirmedCommitIsNeverReappliedOverAResetAFailedReadOrAGroupWithoutOffset() {
        let readings: [(String, [KafkaTopicPartition: KafkaOffsetCommit]?)] = [
            ("an operator's reset below the base", [p0: KafkaOffsetCommit(offset: 0)]),
            ("a reset just below the base", [p0: KafkaOffsetCommit(offset: 39)]),
            ("the group already at the commit", [p0: KafkaOffsetCommit(offset: 100)]),
            ("the group beyond it", [p0: KafkaOffsetCommit(offset: 150)]),
            ("no committed offset (a re-created topic, a deleted group)", [:]),
            ("a negative (logical) offset", [p0: KafkaOffsetCommit(offset: -1001)]),
            ("the read failed", nil),
        ]
        for (name, committed) in readings {
            var state = stateWithUnconfirmedCommit(base: 40)
            #expect(state.takeUnconfirmed(for: [p0], committed: committed).isEmpty, "\(name)")
            #expect(state.unconfirmedCommits.isEmpty, "\(name): dropped")
        }
        var state = stateWithUnconfirmedCommit(base: nil)
        #expect(state.takeUnconfirmed(for: [p0], committed: [p0: KafkaOffsetCommit(offset: 50)]).isEmpty, "no base was known")
    }

    @Test func theLastConfirmedCommitIsTheNewBase() {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0], committed: [:])
        state.commitSucceeded([p0: KafkaOffsetCommit(offset: 60)])
        state.commitFailed([p0: KafkaOffsetCommit(offset: 100)], error: KafkaError(code: KafkaError.Code.illegalGeneration, message: "fenced"))
        #expect(state.unconfirmedCommits[p0]?.base == 60)
        state.beginRevoke([p0])
        _ = state.finishRevoke([p0])
        #expect(state.takeUnconfirmed(for: [p0], committed: [p0: KafkaOffsetCommit(offset: 60)])[p0]?.commit.offset == 100)
    }

    @Test func aFailedReapplicationKeepsItsOriginalBase() {
        var state = stateWithUnconfirmedCommit(base: 40)
        let taken = state.takeUnconfirmed(for: [p0], committed: [p0: KafkaOffsetCommit(offset: 40)])
        state.commitFailed(taken.mapValues(\.commit), error: KafkaError.timedOut("commit"))
        state.keepUnconfirmed(taken)
        #expect(state.unconfirmedCommits[p0] == UnconfirmedCommits.Entry(commit: KafkaOffsetCommit(offset: 100), base: 40))
    }

    // MARK: OFFSET_METADATA_TOO_LARGE

    @Test func metadataTooLargeIsRetriedWithHalfTheRangesThenNone() {
        let ranges: [Range<Int64>] = [11..<12, 13..<14, 15..<16, 17..<18]
        let asked = KafkaOffsetCommit(offset: 10, metadata: OffsetCommitMetadata.encode(partition: 0, committed: 10, ranges: ranges))
        let other = KafkaOffsetCommit(offset: 5)
        let tooLarge = KafkaError(code: KafkaError.Code.offsetMetadataTooLarge, message: "too large")
        var rounds = CommitRounds([p0: asked, p1: other])
        rounds.answered([p0: tooLarge])
        #expect(rounds.outcome.made == [p1: other], "the other partition is committed at once")
        #expect(OffsetCommitMetadata.decode(rounds.pending[p0]!.metadata, partition: 0, committed: 10) == .ranges([11..<12, 13..<14]))
        rounds.answered([p0: tooLarge])
        #expect(rounds.pending == [p0: KafkaOffsetCommit(offset: 10)], "then no metadata")
        rounds.answered([:])
        #expect(rounds.pending.isEmpty)
        #expect(rounds.outcome.made == [p0: KafkaOffsetCommit(offset: 10), p1: other])
        #expect(rounds.outcome.error == nil)
        #expect(rounds.shrunk == [p0: asked])
    }

    @Test func otherRefusalsAndATooLargeEmptyCommitFail() {
        let asked = KafkaOffsetCommit(offset: 10, metadata: OffsetCommitMetadata.encode(partition: 0, committed: 10, ranges: [11..<12]))
        var rounds = CommitRounds([p0: asked, p1: KafkaOffsetCommit(offset: 3)])
        rounds.answered([
            p0: KafkaError(code: KafkaError.Code.offsetMetadataTooLarge, message: "too large"),
            p1: KafkaError(code: KafkaError.Code.offsetMetadataTooLarge, message: "too large"),
        ])
        #expect(rounds.outcome.failed == [p1: KafkaOffsetCommit(offset: 3)], "nothing to drop from an empty metadata")
        #expect(rounds.pending == [p0: KafkaOffsetCommit(offset: 10)], "one range: halved is none")
        rounds.answered([p0: KafkaError(code: KafkaError.Code.illegalGeneration, message: "fenced")])
        #expect(rounds.outcome.failed == [p0: asked, p1: KafkaOffsetCommit(offset: 3)], "failures name the commit as asked")
        #expect(rounds.outcome.made.isEmpty && rounds.pending.isEmpty)

        var whole = CommitRounds([p0: asked])
        whole.failed(KafkaError.timedOut("commit"))
        #expect(whole.outcome.failed == [p0: asked] && whole.outcome.error?.code == KafkaError.Code.timedOut)
    }
}
