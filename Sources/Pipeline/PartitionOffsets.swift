/// The offsets of one partition that are not yet committable, in consumption order, with a done flag each.
///
/// Offsets arrive in increasing order, so the pending window is a sorted ring: appending is O(1), marking
/// an offset done is a binary search, and the watermark advances over the done prefix.
struct PartitionOffsets: Sendable {
    let generation: UInt64
    private var offsets: [Int64] = []
    private var done: [Bool] = []
    private var head = 0
    /// Highest offset ever appended (for rejecting re-fetched records).
    private(set) var lastSeen: Int64 = -1
    /// Next offset to commit (`n + 1`), once some prefix is done.
    private(set) var committable: Int64?
    /// The offset most recently handed out for commit.
    var lastCommitted: Int64?

    init(generation: UInt64) {
        self.generation = generation
    }

    var pendingCount: Int { offsets.count - head }

    /// Appends a consumed offset; false when it is not above every offset seen before.
    mutating func append(_ offset: Int64) -> Bool {
        guard offset > lastSeen else { return false }
        lastSeen = offset
        offsets.append(offset)
        done.append(false)
        return true
    }

    /// Marks `offset` done and advances the watermark. Returns how many offsets left the pending window.
    mutating func markDone(_ offset: Int64) -> Int {
        guard let index = index(of: offset), !done[index] else { return 0 }
        done[index] = true
        let start = head
        while head < offsets.count, done[head] {
            committable = offsets[head] + 1
            head += 1
        }
        let released = head - start
        compactIfNeeded()
        return released
    }

    private func index(of offset: Int64) -> Int? {
        var low = head
        var high = offsets.count
        while low < high {
            let mid = (low + high) / 2
            if offsets[mid] < offset { low = mid + 1 } else { high = mid }
        }
        return low < offsets.count && offsets[low] == offset ? low : nil
    }

    private mutating func compactIfNeeded() {
        guard head > 1024, head * 2 > offsets.count else { return }
        offsets.removeFirst(head)
        done.removeFirst(head)
        head = 0
    }
}
