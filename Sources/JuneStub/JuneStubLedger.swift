/// The stub's bookkeeping as a value: counters, per-user order check and the outage window.
/// `JuneStub` holds it in a `Mutex`; tests drive it directly.
struct JuneStubLedger: Sendable {
    private struct UserRecord: Sendable {
        var seen: Set<Int> = []
        var maxSeq: Int = .min
        /// Accepted seqs in arrival order (duplicates included), for `GET /events`; the first
        /// `arrivalsLimitPerUser` only, so long benchmarks on a few users do not grow it without bound.
        var arrivals: [Int] = []
    }

    static let authorizationSeenLimit = 10
    static let arrivalsLimitPerUser = 100_000

    private var requests = 0
    private var accepted = 0
    private var duplicates = 0
    private var orderViolations = 0
    private var byType: [String: Int] = [:]
    private var status: [Int: Int] = [:]
    private var authorizationSeen: [String] = []
    private var users: [String: UserRecord] = [:]
    private(set) var outageUntil: ContinuousClock.Instant?

    /// Counts one `/api/*` request as it arrives.
    mutating func recordRequest(type: String, authorization: String?) {
        self.requests += 1
        self.byType[type, default: 0] += 1
        if let authorization, self.authorizationSeen.count < Self.authorizationSeenLimit,
            !self.authorizationSeen.contains(authorization)
        {
            self.authorizationSeen.append(authorization)
        }
    }

    /// Counts the status the request is answered with; for 2xx also runs the duplicate and order check.
    mutating func recordResponse(status: Int, user: String?, seq: Int?) {
        self.status[status, default: 0] += 1
        guard (200..<300).contains(status) else { return }
        self.accepted += 1
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
        return JuneStubStats(
            requests: self.requests,
            accepted: self.accepted,
            uniqueAccepted: self.accepted - self.duplicates,
            duplicates: self.duplicates,
            orderViolations: self.orderViolations,
            users: self.users.count,
            byType: byType,
            status: status,
            authorizationSeen: self.authorizationSeen
        )
    }

    /// Clears counters and order state (not the outage window).
    mutating func reset() {
        let outage = self.outageUntil
        self = JuneStubLedger()
        self.outageUntil = outage
    }
}
