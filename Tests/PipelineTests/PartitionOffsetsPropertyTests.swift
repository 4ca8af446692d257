import Kafka
import TestSupport
import Testing

@testable import Pipeline
@testable import RelayFormats

/// Random consume / finish sequences against a plain reference model, across simulated restarts: each
/// stage starts a new `PartitionOffsets` from the previous stage's commit, as the partition's next owner does.
@Suite struct PartitionOffsetsPropertyTests {
    /// The reference: which offsets of the window are unfinished, and which above `lastSeen` the
    /// committed metadata says are done.
    struct Model {
        var lastSeen: Int64?
        var unfinished: Set<Int64> = []
        var doneAbove: Set<Int64> = []

        var committable: Int64? {
            guard let lastSeen else { return nil }
            return unfinished.min() ?? lastSeen + 1
        }

        /// Every done offset at or above the committable one: seen and not unfinished (gaps included),
        /// then the listed ones above `lastSeen`.
        var doneOffsets: [Int64] {
            guard let lastSeen, let committable else { return [] }
            var result = (committable...max(committable, lastSeen)).filter { $0 <= lastSeen && !unfinished.contains($0) }
            result += doneAbove.filter { $0 > lastSeen }.sorted()
            return result
        }

        func isDone(_ offset: Int64) -> Bool {
            guard let lastSeen else { return false }
            if offset > lastSeen { return doneAbove.contains(offset) }
            return !unfinished.contains(offset)
        }

        static func ranges(_ sorted: [Int64]) -> [Range<Int64>] {
            var ranges: [Range<Int64>] = []
            for offset in sorted {
                if let last = ranges.last, last.upperBound == offset {
                    ranges[ranges.count - 1] = last.lowerBound..<(offset + 1)
                } else {
                    ranges.append(offset..<(offset + 1))
                }
            }
            return ranges
        }
    }

    /// Thousands of unfinished offsets completed in random order: completions away from the front are
    /// marked in place and compacted later; the committable offset, the count and the done ranges must
    /// match a plain set at every step.
    @Test func manyCompletionsInRandomOrderMatchASet() {
        var rng = SplitMix(seed: 7)
        var offsets = PartitionOffsets(epoch: 1)
        let count: Int64 = 6_000
        for offset in 0..<count {
            let result = offsets.append(offset, at: .now)
            #expect(result == .process)
        }
        var unfinished = Set(0..<count)
        // The last two thirds first (behind a stuck front), then the front third, each in random order.
        let shuffled = Array(0..<count).shuffled(using: &rng)
        let order = shuffled.filter { $0 >= count / 3 } + shuffled.filter { $0 < count / 3 }
        for (step, offset) in order.enumerated() {
            let first = offsets.markDone(offset)
            let second = offsets.markDone(offset)
            #expect(first && !second, "offset \(offset): done once, not twice")
            unfinished.remove(offset)
            let expected = unfinished.min() ?? count
            if offsets.committable != expected || offsets.unfinishedCount != unfinished.count {
                Issue.record(
                    "step \(step): committable \(String(describing: offsets.committable)) (want \(expected)), unfinished \(offsets.unfinishedCount) (want \(unfinished.count))"
                )
                return
            }
            if step % 499 == 0 {
                var ranges: [Range<Int64>] = []
                var start: Int64?
                for offset in expected..<count {
                    if unfinished.contains(offset) {
                        if let low = start { ranges.append(low..<offset) }
                        start = nil
                    } else if start == nil {
                        start = offset
                    }
                }
                if let low = start { ranges.append(low..<count) }
                #expect(offsets.doneRanges() == ranges, "step \(step)")
            }
        }
        #expect(offsets.committable == count && offsets.unfinishedCount == 0)
    }

    @Test(arguments: [4096, 40])
    func matchesTheReferenceModelAcrossRestarts(metadataLimit: Int) {
        var rng = SplitMix(seed: UInt64(metadataLimit))
        var skippedTotal = 0
        var resentTotal = 0
        for iteration in 0..<200 {
            let log = Self.randomLog(using: &rng)
            var commit: KafkaOffsetCommit?
            var previous: Model?
            for stage in 0..<3 {
                let context = "limit \(metadataLimit), iteration \(iteration), stage \(stage)"
                var owner = Owner(epoch: UInt64(stage + 1), committed: commit, log: log, previous: previous, context: context)
                let operations = Int.random(in: 1...400, using: &rng)
                for _ in 0..<operations {
                    owner.randomStep(using: &rng)
                }
                owner.checkDoneRanges()
                skippedTotal += owner.skippedOfPrevious.count
                resentTotal += owner.processedDoneOfPrevious.count
                owner.checkSkipsOfPrevious(metadataLimit: metadataLimit)
                commit = owner.commit(metadataLimit: metadataLimit) ?? commit
                previous = owner.model
            }
        }
        // The sequences must reach the interesting cases: skips after a restart, and (small limit) re-sends.
        #expect(skippedTotal > 1_000, "skipped \(skippedTotal)")
        #expect(metadataLimit >= 4096 || resentTotal > 100, "re-sent \(resentTotal)")
    }

    /// The partition's log: ascending offsets with holes (compaction, transaction markers).
    static func randomLog(using rng: inout SplitMix) -> [Int64] {
        var log: [Int64] = []
        var next = Int64.random(in: 0...1_000_000, using: &rng)
        for _ in 0..<Int.random(in: 1...300, using: &rng) {
            log.append(next)
            next += Int.random(in: 0..<4, using: &rng) == 0 ? Int64.random(in: 2...5, using: &rng) : 1
        }
        return log
    }

    /// One stage: the partition's next owner, its `PartitionOffsets` started from the previous stage's
    /// commit, fetching from the log beside the reference model.
    struct Owner {
        let log: [Int64]
        /// The previous owner's model (nil in the first stage).
        let previous: Model?
        let context: String
        var offsets: PartitionOffsets
        var model = Model()
        /// The log index fetched next.
        var position: Int
        var skippedOfPrevious: [Int64] = []
        var processedDoneOfPrevious: [Int64] = []
        /// Before the first record of an assignment, an offset below the committed one is a position
        /// reset (processed), not a re-fetch: re-fetches are only tried after a record arrived.
        var fetchedThisStage = false

        init(epoch: UInt64, committed commit: KafkaOffsetCommit?, log: [Int64], previous: Model?, context: String) {
            self.log = log
            self.previous = previous
            self.context = context
            offsets = PartitionOffsets(epoch: epoch, committed: commit)
            if let commit {
                model.lastSeen = commit.offset - 1
                let listed = OffsetCommitMetadata.decode(commit.metadata, partition: 0, committed: commit.offset).skippable
                #expect(!commit.metadata.isEmpty ? !listed.isEmpty : true, "\(context): own metadata must decode")
                model.doneAbove = Set(listed.flatMap { Array($0) })
            }
            // Fetching starts at the committed offset.
            position = log.firstIndex { $0 >= (commit?.offset ?? 0) } ?? log.count
        }

        /// A random fetch, completion, re-fetch or stray completion, then a comparison with the model.
        mutating func randomStep(using rng: inout SplitMix) {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5 where position < log.count:
                fetchNext()
            case 5..<8 where !model.unfinished.isEmpty:
                let offset = model.unfinished.randomElement(using: &rng)!
                #expect(offsets.markDone(offset) == true, "\(context): markDone \(offset)")
                model.unfinished.remove(offset)
            case 8 where model.lastSeen != nil && fetchedThisStage:
                let offset = model.lastSeen! - Int64.random(in: 0...3, using: &rng)
                #expect(offsets.append(offset, at: .now) == .stale, "\(context): re-fetched \(offset)")
            case 9 where model.lastSeen != nil:
                let offset = model.lastSeen! - Int64.random(in: -2...10, using: &rng)
                if !model.unfinished.contains(offset) {
                    #expect(offsets.markDone(offset) == false, "\(context): \(offset) is not unfinished")
                }
            default:
                break
            }
            // Checked after every step; `Issue.record` only on a mismatch keeps the loop fast.
            if offsets.committable != model.committable || offsets.unfinishedCount != model.unfinished.count {
                Issue.record(
                    "\(context): committable \(String(describing: offsets.committable)) vs \(String(describing: model.committable)), unfinished \(offsets.unfinishedCount) vs \(model.unfinished.count)"
                )
            }
        }

        /// The next record of the log arrives: skipped exactly when the commit metadata lists it.
        mutating func fetchNext() {
            let offset = log[position]
            position += 1
            let result = offsets.append(offset, at: .now)
            fetchedThisStage = true
            let expected: PartitionOffsets.AppendResult = model.doneAbove.contains(offset) ? .skip : .process
            #expect(result == expected, "\(context): append \(offset)")
            model.lastSeen = offset
            if result == .process { model.unfinished.insert(offset) }
            if let previous {
                // The previous owner's view: nothing unfinished there may be skipped here.
                if result == .skip {
                    #expect(previous.isDone(offset), "\(context): \(offset) skipped but it was not done")
                    skippedOfPrevious.append(offset)
                } else if previous.isDone(offset) {
                    processedDoneOfPrevious.append(offset)
                }
            }
        }

        /// At the end of the stage: the done ranges and the uncommitted count match the model.
        func checkDoneRanges() {
            #expect(offsets.doneRanges() == Model.ranges(model.doneOffsets), "\(context): done ranges")
            if let lastSeen = model.lastSeen, let committable = model.committable {
                let uncommitted = (committable...max(committable, lastSeen)).filter { $0 <= lastSeen && !model.unfinished.contains($0) }.count
                #expect(offsets.uncommittedCount == Int64(uncommitted), "\(context): uncommitted")
            }
        }

        /// Every done offset of the previous owner that was skipped forms a prefix of those fetched.
        func checkSkipsOfPrevious(metadataLimit: Int) {
            if let first = processedDoneOfPrevious.first {
                #expect(skippedOfPrevious.allSatisfy { $0 < first }, "\(context): skipped \(skippedOfPrevious) around re-sent \(first)")
                #expect(metadataLimit < 4096, "\(context): with 4096 bytes everything done must be skipped, \(first) was re-sent")
            }
        }

        /// This owner's commit within `metadataLimit`: at the model's committable offset, its metadata a
        /// prefix of the done ranges (all of them with 4096 bytes).
        func commit(metadataLimit: Int) -> KafkaOffsetCommit? {
            let newCommit = offsets.commit(metadataLimit: metadataLimit)
            #expect(newCommit?.offset == model.committable, "\(context): commit offset")
            if let newCommit {
                #expect(newCommit.metadata.utf8.count <= metadataLimit, "\(context)")
                let listed = OffsetCommitMetadata.decode(newCommit.metadata, partition: 0, committed: newCommit.offset).skippable
                let all = Model.ranges(model.doneOffsets)
                #expect(Array(all.prefix(listed.count)) == listed, "\(context): metadata lists a prefix of the done ranges")
                if !all.isEmpty, metadataLimit >= 4096 {
                    #expect(listed == all, "\(context): everything fits in 4096 bytes here")
                }
            }
            return newCommit
        }
    }
}
