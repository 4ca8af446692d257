/// What the relay has learnt of June's health from its answers: retryable failures in a row (an
/// outage), when June last answered and last accepted a real event, and rejections in a row (a
/// rejection storm). A pure value inside ``RelayWork``; the mode it leads to is the work object's.
struct JuneHealth: Sendable {
    /// Consecutive retryable failures (no answer from June in between) that make an outage.
    let outageThreshold: Int
    /// Retryable failures since June last answered, and when the first of them happened.
    private(set) var consecutiveFailures = 0
    private var failingSince: ContinuousClock.Instant?
    /// When June last answered anything but a retryable failure or a refusal (an acceptance, a rejection
    /// of one event, an answered probe): June is up and takes the key.
    private(set) var lastAnsweredAt: ContinuousClock.Instant?
    /// When June last accepted (2xx) a real event, single or in a batch. The only proof that an event
    /// failing on its own is the problem (`retries-exhausted`, quarantine): a probe never counts.
    private(set) var lastAcceptedAt: ContinuousClock.Instant?
    /// Rejections of real events since June last accepted one, and the lanes (users) they came from,
    /// up to ``stormUsers``.
    private(set) var rejectionsInARow = 0
    private var rejectedLanes: Set<LaneKey> = []

    /// Failures with no answer from June for this long are an outage, however few.
    static let outageWindow: Duration = .seconds(5)
    /// A rejection storm: this many rejections of real events in a row, from at least ``stormUsers``
    /// users, with no event accepted between them. June is then rejecting everything (a changed API, a
    /// retired endpoint), not bad events.
    static let stormRejections = 50
    static let stormUsers = 10

    init(outageThreshold: Int) {
        self.outageThreshold = max(1, outageThreshold)
    }

    /// June accepted a real event (2xx).
    mutating func accepted(at now: ContinuousClock.Instant) {
        answered(at: now)
        lastAcceptedAt = now
        rejectionsInARow = 0
        rejectedLanes.removeAll()
    }

    /// June answered (not a retryable failure, not a refusal).
    mutating func answered(at now: ContinuousClock.Instant) {
        lastAnsweredAt = now
        consecutiveFailures = 0
        failingSince = nil
    }

    /// June rejected a real event of `lane`. Returns true when that completes a rejection storm (the
    /// count starts again after it).
    mutating func rejected(lane: LaneKey, at now: ContinuousClock.Instant) -> Bool {
        answered(at: now)
        rejectionsInARow += 1
        if rejectedLanes.count < Self.stormUsers { rejectedLanes.insert(lane) }
        guard rejectionsInARow >= Self.stormRejections, rejectedLanes.count >= Self.stormUsers else { return false }
        rejectionsInARow = 0
        rejectedLanes.removeAll()
        return true
    }

    /// A retryable failure (timeout, connection error, 408, 429, 5xx). Returns true when the failures
    /// make an outage: `outageThreshold` in a row with no answer from June in between, or a few spanning
    /// `outageWindow` (one user retrying with backoff fails rarely, but June is just as down).
    mutating func retryableFailure(at now: ContinuousClock.Instant) -> Bool {
        consecutiveFailures += 1
        if failingSince == nil { failingSince = now }
        let slowOutage = consecutiveFailures >= 3 && now - failingSince! >= Self.outageWindow
        return consecutiveFailures >= outageThreshold || slowOutage
    }

    /// A refusal: not a failure of June's.
    mutating func refused() {
        consecutiveFailures = 0
        failingSince = nil
    }

    /// Whether June accepted a real event after `instant`.
    func acceptedAfter(_ instant: ContinuousClock.Instant) -> Bool {
        guard let lastAcceptedAt else { return false }
        return lastAcceptedAt > instant
    }
}
