/// What the pipeline is doing, as one value: the in-flight limit and whether consumption is paused
/// follow from it, instead of from flags and a limit used as a side channel.
enum PipelineMode: Sendable, Equatable {
    /// Consuming and delivering, up to `maxInFlight` requests.
    case running
    /// June fails broadly (timeouts, 5xx): consumption paused, June probed on a timer.
    case outage(since: ContinuousClock.Instant)
    /// June refuses the relay (401, 403, 404, 405, 407, 3xx: key, URL or proxy): consumption paused,
    /// nothing dead-lettered, June probed on a timer.
    case refused(since: ContinuousClock.Instant, status: Int)
    /// Shutting down: no new work; in-flight work finishes within the drain timeout.
    case draining
    /// Shut down.
    case stopped

    /// Requests (and dead-letter writes) that may be in flight.
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
        case .outage(let since), .refused(let since, _): since
        case .running, .draining, .stopped: nil
        }
    }

    var name: String {
        switch self {
        case .running: "running"
        case .outage: "outage"
        case .refused: "refused"
        case .draining: "draining"
        case .stopped: "stopped"
        }
    }
}
