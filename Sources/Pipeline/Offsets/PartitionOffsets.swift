import Kafka
import RelayFormats

/// The offsets of one assigned partition: which consumed records are unfinished, and from that the
/// committable offset and the done offsets above it.
///
/// Every offset in `committable...lastSeen` is either unfinished (held in a lane, in flight or waiting
/// for a retry) or done. So only the unfinished offsets are stored (a sorted ring, bounded by the
/// buffer limit), and the done offsets above the committable one are their complement: done records
/// cost no memory however long one stuck record holds the committed offset back. Offsets that never
/// arrive (compaction gaps, transaction markers) count as done.
struct PartitionOffsets: Sendable {
    struct Unfinished: Sendable {
        var offset: Int64
        var since: ContinuousClock.Instant
        /// Done, but still in `storage` (removed at the next compaction).
        var isDone = false
    }

    enum AppendResult: Equatable {
        /// A new record to process.
        case process
        /// A record the previous owner recorded as done in the commit metadata: it is done already.
        case skip
        /// Not above every offset seen before (a re-fetch after pause/resume): drop it.
        case stale
    }

    let epoch: UInt64
    let partition: Int32
    /// Unfinished offsets, ascending, in `storage[head...]`, with `doneInStorage` of them marked done in
    /// place: a completion away from the front (behind a stuck record, or a busy user's queued events)
    /// costs a binary search and a flag, not a shift of everything after it. `storage[head]` is never
    /// marked done, so it is always the lowest unfinished offset.
    private var storage: [Unfinished] = []
    private var head = 0
    private var doneInStorage = 0
    /// Highest offset seen; nil until the first record (or the committed offset) is known.
    private(set) var lastSeen: Int64?
    /// Whether a record arrived since assignment (before that, `lastSeen` comes from the committed offset).
    private var hasSeenRecord = false
    /// Done ranges read from the committed metadata that lie above `lastSeen`, ascending.
    private var skip: [Range<Int64>] = []
    private var skipIndex = 0
    /// The commit most recently handed out (or read at assignment).
    var lastCommitted: KafkaOffsetCommit?
    /// Set after a commit of this partition timed out: until then, every commit round commits the
    /// partition again even when its offset did not move, so a late commit cannot leave the group's
    /// offset lowered (see `KafkaConsumerConfiguration.lateCommitWindow`).
    var recommitUntil: ContinuousClock.Instant?
    /// The group's committed offset when `committed` was recovered from an earlier ownership.
    private let recoveredFrom: Int64?
    /// Why the committed metadata read at assignment was not used, if it was not (see
    /// ``OffsetCommitMetadata/decode(_:partition:committed:)``): then everything above the committed
    /// offset is processed.
    let ignoredMetadata: OffsetCommitMetadata.IgnoredReason?

    /// - Parameters:
    ///   - partition: the partition number, which valid metadata names.
    ///   - committed: the group's committed offset and metadata at assignment, if any. Its done ranges
    ///     (when the metadata is ours, valid, and written for this partition and this offset) are skipped
    ///     as they are fetched.
    ///   - recoveredFrom: when `committed` is this member's own commit from an earlier ownership, made
    ///     again at assignment (it had failed in a rebalance), the group's committed offset read before
    ///     it. librdkafka may have read that lower offset and fetch from it: records from there up to
    ///     `committed` are done, and skipped.
    init(epoch: UInt64, partition: Int32 = 0, committed: KafkaOffsetCommit? = nil, recoveredFrom: Int64? = nil) {
        self.epoch = epoch
        self.partition = partition
        self.recoveredFrom = recoveredFrom
        var ignored: OffsetCommitMetadata.IgnoredReason?
        if let committed, committed.offset >= 0 {
            lastSeen = committed.offset - 1
            lastCommitted = committed
            let decoded = OffsetCommitMetadata.decode(committed.metadata, partition: partition, committed: committed.offset)
            skip = decoded.skippable
            ignored = decoded.ignoredReason
        }
        ignoredMetadata = ignored
    }

    var unfinishedCount: Int { storage.count - head - doneInStorage }

    /// The next offset to commit (`n + 1` for the highest `n` with everything at or below it done).
    var committable: Int64? {
        guard let lastSeen else { return nil }
        return head < storage.count ? storage[head].offset : lastSeen + 1
    }

    /// Done offsets above the committable one (waiting behind an unfinished offset), gaps included.
    var uncommittedCount: Int64 {
        guard let lastSeen, let committable else { return 0 }
        return (lastSeen + 1 - committable) - Int64(unfinishedCount)
    }

    /// When the oldest unfinished record was consumed.
    var oldestUnfinishedSince: ContinuousClock.Instant? {
        head < storage.count ? storage[head].since : nil
    }

    /// Records a consumed offset.
    mutating func append(_ offset: Int64, at now: ContinuousClock.Instant) -> AppendResult {
        if !hasSeenRecord, let lastSeen, offset <= lastSeen {
            if let recoveredFrom, offset >= recoveredFrom { return .skip }
            // The first record is below the committed offset: the committed offset is beyond the log
            // (truncated, or the topic re-created) and librdkafka reset the position. These are new
            // records: process them, and forget metadata that described the old log.
            self.lastSeen = offset - 1
            skip = []
            skipIndex = 0
        }
        hasSeenRecord = true
        if let lastSeen, offset <= lastSeen { return .stale }
        lastSeen = offset
        while skipIndex < skip.count, skip[skipIndex].upperBound <= offset { skipIndex += 1 }
        if skipIndex < skip.count, skip[skipIndex].contains(offset) { return .skip }
        storage.append(Unfinished(offset: offset, since: now))
        return .process
    }

    /// Marks an unfinished offset done. Returns false when it was not unfinished (already done, unknown).
    mutating func markDone(_ offset: Int64) -> Bool {
        guard let index = index(of: offset), !storage[index].isDone else { return false }
        if index == head {
            head += 1
            while head < storage.count, storage[head].isDone {
                head += 1
                doneInStorage -= 1
            }
        } else {
            storage[index].isDone = true
            doneInStorage += 1
        }
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
            doneInStorage = 0
        } else if head > 1024, head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        } else if doneInStorage > 1024, doneInStorage * 2 > storage.count - head {
            storage = storage[head...].filter { !$0.isDone }
            head = 0
            doneInStorage = 0
        }
        return true
    }

    /// The done ranges above the committable offset, ascending: the gaps between unfinished offsets up to
    /// `lastSeen`, then the metadata ranges not reached yet.
    func doneRanges() -> [Range<Int64>] {
        guard let lastSeen, let committable else { return [] }
        var ranges: [Range<Int64>] = []
        var previous = committable
        for index in head..<storage.count where !storage[index].isDone {
            let offset = storage[index].offset
            if offset > previous { ranges.append(previous..<offset) }
            previous = offset + 1
        }
        if lastSeen + 1 > previous { ranges.append(previous..<(lastSeen + 1)) }
        for index in skipIndex..<skip.count {
            let range = skip[index].clamped(to: (lastSeen + 1)..<Int64.max)
            guard !range.isEmpty else { continue }
            if let last = ranges.last, last.upperBound == range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<range.upperBound
            } else {
                ranges.append(range)
            }
        }
        return ranges
    }

    /// The commit for the current state (offset and metadata within `metadataLimit` bytes), or nil
    /// when nothing was seen.
    func commit(metadataLimit: Int) -> KafkaOffsetCommit? {
        guard let committable else { return nil }
        let metadata = OffsetCommitMetadata.encode(
            partition: partition, committed: committable, ranges: doneRanges(), limit: metadataLimit
        )
        return KafkaOffsetCommit(offset: committable, metadata: metadata)
    }

    private func index(of offset: Int64) -> Int? {
        var low = head
        var high = storage.count
        while low < high {
            let mid = (low + high) / 2
            if storage[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        return low < storage.count && storage[low].offset == offset ? low : nil
    }
}
