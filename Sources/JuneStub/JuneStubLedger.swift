/// The stub's bookkeeping as a value: counters, per-user order check, users in requests being answered
/// and the outage window. `JuneStub` holds it in a `Mutex`; tests drive it directly.
struct JuneStubLedger: Sendable {
    private struct UserRecord: Sendable {
        var seen: Set<Int> = []
        var maxSeq: Int = .min
        /// Accepted seqs in arrival order (duplicates included), for `GET /events`; the first
        /// `arrivalsLimitPerUser` only, so long benchmarks on a few users do not grow it without bound.
        var arrivals: [Int] = []
    }

    /// A user in a request that is still being answered.
    private struct BusyUser: Sendable {
        /// When the response is written: arrival + latency.
        var until: ContinuousClock.Instant
        /// The request that made the user busy last, so a batch carrying a user several times counts once.
        var request: UInt64
    }

    static let authorizationSeenLimit = 10
    static let arrivalsLimitPerUser = 100_000
    private static let busyPruneMinimum = 4_096

    private var requests = 0
    private var accepted = 0
    private var duplicates = 0
    private var orderViolations = 0
    private var byType: [String: Int] = [:]
    private var status: [Int: Int] = [:]
    private var authorizationSeen: [String] = []
    private var users: [String: UserRecord] = [:]
    private var batches = 0
    private var batchItems = 0
    private var batchesRejected = 0
    private var probes = 0
    /// Hashes of accepted messageIds: 8 bytes per event however long the ids are; a 64-bit collision
    /// (a false duplicate) is vanishingly unlikely at test and benchmark volumes.
    private var messageIDs: Set<Int> = []
    private var duplicateMessageIDs = 0
    /// Per user, the messageIds of every batch item received (accepted or not), in arrival order; the
    /// first `arrivalsLimitPerUser` only.
    private var messageIDsReceived: [String: [String]] = [:]
    private var concurrentUserViolations = 0
    private var capacityRejections = 0
    private var forcedAnswers = 0

    // In-flight state, kept by `reset()`.
    private var busy: [String: BusyUser] = [:]
    private var busyPruneAt = Self.busyPruneMinimum
    private var requestSerial: UInt64 = 0
    private(set) var outageUntil: ContinuousClock.Instant?

    /// Counts one `/api/*` request (`type` is its endpoint) or `/sdk/batch` request (`type` nil) as it arrives.
    mutating func recordRequest(type: String?, authorization: String?) {
        self.requests += 1
        if let type {
            self.byType[type, default: 0] += 1
        }
        self.recordAuthorization(authorization)
    }

    /// Counts a probe: `{}` to `/api/*` or an empty batch. Probes are not events and not requests.
    mutating func recordProbe(authorization: String?) {
        self.probes += 1
        self.recordAuthorization(authorization)
    }

    /// Counts the status a (non-probe) request is answered with.
    mutating func recordResponse(status: Int) {
        self.status[status, default: 0] += 1
    }

    /// Counts a 429 given at once because the stub was at its `--capacity-429`.
    mutating func recordCapacityRejection() {
        self.capacityRejections += 1
    }

    /// Counts an answer given by `POST /control/answer`.
    mutating func recordForcedAnswer() {
        self.forcedAnswers += 1
    }

    /// Counts how a batch request was answered: 2xx accepted (its items follow through
    /// `recordAccepted`), 400 rejected; other statuses (401, 429, 503) are neither.
    mutating func recordBatch(status: Int, items: Int) {
        if (200..<300).contains(status) {
            self.batches += 1
            self.batchItems += items
        } else if status == 400 {
            self.batchesRejected += 1
        }
    }

    /// One accepted event (a per-event request answered 2xx, or an item of an accepted batch):
    /// the duplicate and order checks.
    mutating func recordAccepted(user: String?, seq: Int?, messageID: String? = nil) {
        self.accepted += 1
        if let messageID, !self.messageIDs.insert(messageID.hashValue).inserted {
            self.duplicateMessageIDs += 1
        }
        guard let user else { return }
        var record = self.users.removeValue(forKey: user) ?? UserRecord()
        if let seq {
            if record.seen.contains(seq) {
                self.duplicates += 1
            } else if seq < record.maxSeq {
                self.orderViolations += 1
            }
            record.seen.insert(seq)
            record.maxSeq = max(record.maxSeq, seq)
            if record.arrivals.count < Self.arrivalsLimitPerUser {
                record.arrivals.append(seq)
            }
        }
        self.users[user] = record
    }

    private mutating func recordAuthorization(_ authorization: String?) {
        if let authorization, self.authorizationSeen.count < Self.authorizationSeenLimit,
            !self.authorizationSeen.contains(authorization)
        {
            self.authorizationSeen.append(authorization)
        }
    }

    /// Notes a batch item's messageId as received, whatever the answer (`GET /message-ids`).
    mutating func recordReceived(user: String?, messageID: String?) {
        guard let user, let messageID else { return }
        var ids = self.messageIDsReceived.removeValue(forKey: user) ?? []
        if ids.count < Self.arrivalsLimitPerUser { ids.append(messageID) }
        self.messageIDsReceived[user] = ids
    }

    func messageIDsReceived(user: String) -> [String]? {
        self.messageIDsReceived[user]
    }

    // MARK: - No user in two requests at once

    /// Marks the users of one arriving request busy until its response is written (`until`: arrival
    /// plus latency) and counts each user that is still busy with another request. The server writes a
    /// delayed response on a timer that fires at `until` or later, and a client can only send a user's
    /// next request after reading the response, so a correct client never trips this; without latency
    /// `until` is the arrival itself and only true overlaps count.
    mutating func enter(users: some Sequence<String?>, now: ContinuousClock.Instant, until: ContinuousClock.Instant) {
        self.requestSerial &+= 1
        let request = self.requestSerial
        for case let user? in users {
            guard let index = self.busy.index(forKey: user) else {
                self.busy[user] = BusyUser(until: until, request: request)
                continue
            }
            let entry = self.busy.values[index]
            guard entry.request != request else { continue }
            if entry.until > now {
                self.concurrentUserViolations += 1
            }
            self.busy.values[index] = BusyUser(until: max(entry.until, until), request: request)
        }
        if self.busy.count >= self.busyPruneAt {
            self.busy = self.busy.filter { $0.value.until > now }
            self.busyPruneAt = max(Self.busyPruneMinimum, self.busy.count * 2)
        }
    }

    // MARK: - Outage control

    /// Starts (seconds > 0) or ends (seconds == 0) a forced outage.
    mutating func setOutage(for duration: Duration, now: ContinuousClock.Instant) {
        self.outageUntil = duration > .zero ? now + duration : nil
    }

    func isInOutage(now: ContinuousClock.Instant) -> Bool {
        guard let outageUntil else { return false }
        return now < outageUntil
    }

    // MARK: - Reading

    func arrivals(user: String) -> [Int]? {
        self.users[user]?.arrivals
    }

    var stats: JuneStubStats {
        var byType = ["identify": 0, "track": 0, "group": 0, "page": 0]
        byType.merge(self.byType) { _, new in new }
        var status = ["200": 0, "400": 0, "401": 0, "429": 0, "503": 0]
        for (code, count) in self.status {
            status[String(code)] = count
        }
        var stats = JuneStubStats()
        stats.requests = self.requests
        stats.accepted = self.accepted
        stats.uniqueAccepted = self.accepted - self.duplicates
        stats.duplicates = self.duplicates
        stats.orderViolations = self.orderViolations
        stats.users = self.users.count
        stats.byType = byType
        stats.status = status
        stats.authorizationSeen = self.authorizationSeen
        stats.batches = self.batches
        stats.batchItems = self.batchItems
        stats.batchesRejected = self.batchesRejected
        stats.duplicateMessageIds = self.duplicateMessageIDs
        stats.concurrentUserViolations = self.concurrentUserViolations
        stats.probes = self.probes
        stats.capacityRejections = self.capacityRejections
        stats.forcedAnswers = self.forcedAnswers
        return stats
    }

    /// Clears counters and order state; keeps the outage window and the users of requests still being
    /// answered (they are not counters).
    mutating func reset() {
        var fresh = JuneStubLedger()
        fresh.outageUntil = self.outageUntil
        fresh.busy = self.busy
        fresh.busyPruneAt = self.busyPruneAt
        fresh.requestSerial = self.requestSerial
        self = fresh
    }
}
