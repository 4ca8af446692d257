import Kafka

/// The keyed dispatcher's state (spec §4): per-lane FIFO queues, the ready queue and the in-flight limit.
///
/// A pure value held in the pipeline's state `Mutex`. Each method returns the event a worker should
/// start now, if any; the owner starts workers after unlocking.
/// Invariants: a lane is in `ready` at most once; a lane that is running or waiting for a retry is not
/// in `ready`; `running` counts events being sent or dead-lettered right now.
struct LaneTable: Sendable {
    private struct Lane: Sendable {
        var events = RingQueue<RelayEvent>()
        var isActive = false  // its head is running or waiting for a retry
    }

    private var lanes: [LaneKey: Lane] = [:]
    private var ready = RingQueue<LaneKey>()
    private(set) var running = 0
    private(set) var runningByPartition: [KafkaTopicPartition: Int] = [:]
    /// Events queued in lanes (including running/waiting heads).
    private(set) var buffered = 0
    /// Concurrency limit; the pipeline lowers it to 1 during a June outage (the probe).
    var limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Adds a consumed event to its lane. Returns it when it can start at once.
    mutating func enqueue(_ event: RelayEvent) -> RelayEvent? {
        buffered += 1
        var lane = lanes[event.lane, default: Lane()]
        lane.events.append(event)
        let startsLane = !lane.isActive && lane.events.count == 1
        lanes[event.lane] = lane
        guard startsLane else { return nil }
        ready.append(event.lane)
        return next()
    }

    /// Takes the next ready lane's head if a slot is free.
    mutating func next() -> RelayEvent? {
        while running < limit, let key = ready.popFirst() {
            guard var lane = lanes[key], let head = lane.events.first, !lane.isActive else { continue }
            lane.isActive = true
            lanes[key] = lane
            running += 1
            runningByPartition[key.partition, default: 0] += 1
            return head
        }
        return nil
    }

    /// The running head of its lane is finished (delivered or dead-lettered): the lane advances and the
    /// worker gets the next job, from any lane.
    mutating func finish(_ event: RelayEvent) -> RelayEvent? {
        let key = event.lane
        releaseSlot(key.partition)
        if var lane = lanes[key], lane.isActive, Self.isHead(event, of: lane) {
            _ = lane.events.popFirst()
            buffered -= 1
            lane.isActive = false
            if lane.events.isEmpty {
                lanes[key] = nil
            } else {
                lanes[key] = lane
                ready.append(key)
            }
        }
        return next()
    }

    /// The running head of `key` will be retried later: it keeps its lane blocked but frees its slot.
    /// Returns a job for the worker to continue with.
    mutating func deferRetry(_ event: RelayEvent) -> RelayEvent? {
        releaseSlot(event.lane.partition)
        if var lane = lanes[event.lane], lane.isActive, Self.isHead(event, of: lane) {
            lane.events[0] = event
            lanes[event.lane] = lane
        }
        return next()
    }

    /// The running head is given up without being done (its partition was revoked, or the relay is
    /// stopping): the slot is freed, the lane is left as it is.
    mutating func abandon(_ event: RelayEvent) -> RelayEvent? {
        releaseSlot(event.lane.partition)
        return next()
    }

    /// A retry wait is over: the lane becomes ready again. Returns a job if a slot is free.
    /// Nil also when the lane was dropped meanwhile (its partition was revoked).
    mutating func retryDue(_ event: RelayEvent) -> RelayEvent? {
        let key = event.lane
        guard var lane = lanes[key], lane.isActive, Self.isHead(event, of: lane) else { return next() }
        lane.isActive = false
        lanes[key] = lane
        ready.append(key)
        return next()
    }

    /// Drops every lane of the given partitions (revoke). Running events finish on their own; their results
    /// are discarded by the offset tracker's generation check.
    mutating func drop(partitions: Set<KafkaTopicPartition>) {
        for (key, lane) in lanes where partitions.contains(key.partition) {
            buffered -= lane.events.count
            lanes[key] = nil
        }
    }

    /// Drops every lane (shutdown).
    mutating func dropAll() {
        lanes.removeAll()
        ready.removeAll()
        buffered = 0
    }

    func running(in partitions: Set<KafkaTopicPartition>) -> Int {
        partitions.reduce(0) { $0 + (runningByPartition[$1] ?? 0) }
    }

    /// Whether `event` is the lane's head: a result from before a revoke and re-assign must not move the
    /// new lane of the same key.
    private static func isHead(_ event: RelayEvent, of lane: Lane) -> Bool {
        guard let head = lane.events.first else { return false }
        return head.generation == event.generation && head.message.offset == event.message.offset
    }

    private mutating func releaseSlot(_ partition: KafkaTopicPartition) {
        running -= 1
        let left = (runningByPartition[partition] ?? 1) - 1
        runningByPartition[partition] = left > 0 ? left : nil
    }
}
