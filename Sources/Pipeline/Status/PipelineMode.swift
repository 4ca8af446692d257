/// What the pipeline is doing, as one value: the in-flight limit and whether consumption is paused
/// follow from it, instead of from flags and a limit used as a side channel.
public enum PipelineMode: Sendable, Equatable {
    /// Consuming and delivering, up to the concurrency limit (at most `maxInFlight` requests).
    case running
    /// June fails broadly (timeouts, 5xx): consumption paused, June probed on a timer.
    case outage(since: ContinuousClock.Instant)
    /// June refuses the relay (401, 403, 404, 405, 407, 410, 3xx: key, URL or proxy), or rejects every
    /// real event of many users in a row (`rejectingAll`; `status` is the last rejection's): consumption
    /// paused, nothing dead-lettered, June probed on a timer (with a real event while rejecting all).
    case refused(since: ContinuousClock.Instant, status: Int, rejectingAll: Bool = false)
    /// Shutting down: no new work; in-flight work finishes within the drain timeout.
    case draining
    /// Shut down.
    case stopped

    /// Requests (and dead-letter writes) that may be in flight, given the limit while running.
    func inFlightLimit(maxInFlight: Int) -> Int {
        self == .running ? maxInFlight : 0
    }

    /// June is not taking events (outage or refusal): the time spent so does not use up retry budgets.
    var isJuneUnavailable: Bool {
        switch self {
        case .outage, .refused: true
        case .running, .draining, .stopped: false
        }
    }

    /// When the outage or refusal began.
    var unavailableSince: ContinuousClock.Instant? {
        switch self {
        case .outage(let since), .refused(let since, _, _): since
        case .running, .draining, .stopped: nil
        }
    }

    /// True while June rejects every real event (a rejection storm): probes carry a real event.
    var isRejectingAll: Bool {
        if case .refused(_, _, true) = self { return true }
        return false
    }

    /// The `relay_june_refused{status}` label of a refusal: the HTTP status, or `rejecting-all`.
    var refusalLabel: String? {
        guard case .refused(_, let status, let rejectingAll) = self else { return nil }
        return rejectingAll ? Self.rejectingAllLabel : String(status)
    }

    static let rejectingAllLabel = "rejecting-all"

    public var name: String {
        switch self {
        case .running: "running"
        case .outage: "outage"
        case .refused: "refused"
        case .draining: "draining"
        case .stopped: "stopped"
        }
    }
}
