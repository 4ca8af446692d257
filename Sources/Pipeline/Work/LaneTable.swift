import Kafka

/// The keyed dispatcher's state: per-lane FIFO queues and the queue of lanes ready to run.
///
/// A pure value held in the pipeline's state lock. A lane is *active* while records of it are in a
/// request, being dead-lettered or waiting for a retry: then nothing else of the lane may start, which
/// keeps each key's records in offset order. Invariants: a lane is in `ready` at most once, and only
/// when it is inactive and has records; the records a job took are the first ones of their lane.
struct LaneTable: Sendable {
    private struct Lane: Sendable {
        var records = RingQueue<RelayRecord>()
        var isActive = false
        /// Records of this lane taken by the running job (its first `taken` records).
        var taken = 0
        /// The lane's head was dead-lettered as `retries-exhausted` and no event of it was delivered
        /// since: its events get one attempt each (see ``quarantine(_:)``).
        var isQuarantined = false
    }

    private var lanes: [LaneKey: Lane] = [:]
    private var ready = RingQueue<LaneKey>()
    /// Records queued in lanes (including the ones a job took or that wait for a retry).
    private(set) var queuedRecords = 0
    /// Their bytes (record values plus request bodies).
    private(set) var queuedBytes = 0
    /// Lanes in quarantine (so the common case, none, costs no lookup).
    private(set) var quarantinedLanes = 0

    var hasReadyLane: Bool { !ready.isEmpty }

    /// Adds a consumed record to its lane. Returns true when its lane became ready.
    mutating func enqueue(_ record: RelayRecord) -> Bool {
        queuedRecords += 1
        queuedBytes += record.byteCost
        let becameReady: Bool
        if let index = lanes.index(forKey: record.lane) {
            // In place (the values' `_modify`): a copy of the lane would copy its whole queue.
            becameReady = Self.modify(&lanes.values[index]) { lane in
                let wasIdle = !lane.isActive && lane.records.isEmpty
                lane.records.append(record)
                return wasIdle
            }
        } else {
            var lane = Lane()
            lane.records.append(record)
            lanes[record.lane] = lane
            becameReady = true
        }
        if becameReady { ready.append(record.lane) }
        return becameReady
    }

    private static func modify<Result>(_ lane: inout Lane, _ body: (inout Lane) -> Result) -> Result {
        body(&lane)
    }

    /// The head record of the next ready lane, without taking it.
    mutating func peekReady() -> RelayRecord? {
        while let key = ready.first {
            if let lane = lanes[key], !lane.isActive, let head = lane.records.first { return head }
            _ = ready.popFirst()  // dropped (revoke) or no longer runnable
        }
        return nil
    }

    /// Takes a run from the next ready lane: its first records, at most `maxRecords`, while `admits`
    /// accepts each (given the record and how many the run holds so far; the first record is always
    /// taken). The lane becomes active.
    mutating func takeRun(maxRecords: Int, admits: (RelayRecord, Int) -> Bool = { _, _ in true }) -> [RelayRecord]? {
        guard peekReady() != nil, let key = ready.popFirst(), let position = lanes.index(forKey: key) else { return nil }
        return Self.modify(&lanes.values[position]) { lane in
            var run: [RelayRecord] = []
            run.reserveCapacity(min(lane.records.count, max(1, maxRecords)))
            var index = 0
            while index < lane.records.count, run.count < max(1, maxRecords) {
                let record = lane.records[index]
                if !run.isEmpty, !admits(record, run.count) { break }
                run.append(record)
                index += 1
            }
            lane.isActive = true
            lane.taken = run.count
            return run
        }
    }

    /// Takes the head of `key`'s lane when that lane is ready (inactive, with records), ahead of the
    /// ready queue: a worker that finished a record continues with the same user's next one, so a busy
    /// user's events follow each other at the request latency instead of queueing behind every other ready
    /// lane each time. The lane's entry in the ready queue goes stale and is skipped later.
    mutating func takeHead(of key: LaneKey) -> RelayRecord? {
        guard let position = lanes.index(forKey: key) else { return nil }
        return Self.modify(&lanes.values[position]) { lane in
            guard !lane.isActive, let head = lane.records.first else { return nil }
            lane.isActive = true
            lane.taken = 1
            return head
        }
    }

    /// A record of a running job is done (delivered or dead-lettered): it leaves its lane. When the
    /// job's last record of the lane is done, the lane becomes ready again if it has more.
    /// Returns false when the record is stale (its lane was dropped or re-created meanwhile).
    @discardableResult
    mutating func finish(_ record: RelayRecord) -> Bool {
        guard let position = lanes.index(forKey: record.lane) else { return false }
        let finished = Self.modify(&lanes.values[position]) { lane in
            guard lane.isActive, lane.taken > 0, Self.isHead(record, of: lane) else { return false }
            _ = lane.records.popFirst()
            lane.taken -= 1
            if lane.taken == 0 { lane.isActive = false }
            return true
        }
        guard finished else { return false }
        queuedRecords -= 1
        queuedBytes -= record.byteCost
        settle(at: position, key: record.lane)
        return true
    }

    /// The job's remaining records of this lane (starting at the head) will be retried later: the lane
    /// stays blocked until ``retryDue(_:)``. The records are stored with their updated attempt counts.
    mutating func deferRetry(_ records: [RelayRecord]) {
        guard let first = records.first, let position = lanes.index(forKey: first.lane) else { return }
        Self.modify(&lanes.values[position]) { lane in
            guard lane.isActive, Self.isHead(first, of: lane) else { return }
            for (index, record) in records.enumerated() where index < lane.records.count {
                lane.records[index] = record
            }
            lane.taken = 0
        }
    }

    /// A retry wait is over: the lane becomes ready again (unless it was dropped or moved on meanwhile).
    mutating func retryDue(_ ticket: RetryTicket) {
        guard let position = lanes.index(forKey: ticket.lane) else { return }
        let due = Self.modify(&lanes.values[position]) { lane in
            guard lane.isActive, lane.taken == 0, Self.isHead(epoch: ticket.epoch, offset: ticket.offset, of: lane) else { return false }
            lane.isActive = false
            return true
        }
        if due { settle(at: position, key: ticket.lane) }
    }

    /// A job's records of this lane are given up without being done (the relay is stopping, or the
    /// partition was revoked): the lane is released as it is.
    mutating func abandon(_ head: RelayRecord) {
        guard let position = lanes.index(forKey: head.lane) else { return }
        let released = Self.modify(&lanes.values[position]) { lane in
            guard lane.isActive, Self.isHead(head, of: lane) else { return false }
            lane.isActive = false
            lane.taken = 0
            return true
        }
        if released { settle(at: position, key: head.lane) }
    }

    /// Quarantines a lane whose head June kept failing for a whole retry budget (dead-lettered as
    /// `retries-exhausted`): until one of its events is delivered, each gets one attempt, so a user June
    /// keeps failing drains in minutes, not one event per budget.
    mutating func quarantine(_ key: LaneKey) {
        guard let position = lanes.index(forKey: key), !lanes.values[position].isQuarantined else { return }
        lanes.values[position].isQuarantined = true
        quarantinedLanes += 1
    }

    func isQuarantined(_ key: LaneKey) -> Bool {
        quarantinedLanes > 0 && lanes[key]?.isQuarantined == true
    }

    /// An event of the lane was delivered: normal budgets resume.
    mutating func liftQuarantine(_ key: LaneKey) {
        guard quarantinedLanes > 0, let position = lanes.index(forKey: key), lanes.values[position].isQuarantined else { return }
        lanes.values[position].isQuarantined = false
        quarantinedLanes -= 1
    }

    /// Drops every lane of the given partitions (revoke). Running jobs finish on their own; their results
    /// are discarded by the offset tracker's epoch check.
    mutating func drop(partitions: Set<KafkaTopicPartition>) {
        for (key, lane) in lanes where partitions.contains(key.partition) {
            for index in 0..<lane.records.count { queuedBytes -= lane.records[index].byteCost }
            queuedRecords -= lane.records.count
            if lane.isQuarantined { quarantinedLanes -= 1 }
            lanes[key] = nil
        }
    }

    /// Drops every lane (shutdown).
    mutating func dropAll() {
        lanes.removeAll()
        ready.removeAll()
        queuedRecords = 0
        queuedBytes = 0
        quarantinedLanes = 0
    }

    /// After a lane changed in place: an empty lane is removed, an inactive one with records is ready.
    private mutating func settle(at position: Dictionary<LaneKey, Lane>.Index, key: LaneKey) {
        let lane = lanes.values[position]
        if lane.records.isEmpty {
            if lane.isQuarantined { quarantinedLanes -= 1 }
            lanes.remove(at: position)
        } else if !lane.isActive {
            ready.append(key)
        }
    }

    /// Whether `record` is the lane's head: a result from before a revoke and re-assign must not move the
    /// new lane of the same key.
    private static func isHead(_ record: RelayRecord, of lane: Lane) -> Bool {
        isHead(epoch: record.epoch, offset: record.offset, of: lane)
    }

    private static func isHead(epoch: UInt64, offset: Int64, of lane: Lane) -> Bool {
        guard let head = lane.records.first else { return false }
        return head.epoch == epoch && head.offset == offset
    }
}
