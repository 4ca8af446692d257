/// Capped exponential backoff with full jitter, plus a per-event retry budget. Pure: the caller sleeps.
public struct RetryPolicy: Sendable, Equatable {
    /// Upper bound of the first retry's wait. Default: 200 ms.
    public var initialBackoff: Duration
    /// Largest backoff ceiling (a `Retry-After` may still ask for longer). Default: 30 s.
    public var maxBackoff: Duration
    /// Elapsed time per event after which retrying stops (→ dead letter `retries-exhausted`).
    /// `nil` or `.zero` means retry forever. Time spent in a June outage should not be counted by the caller.
    /// Default: 900 s.
    public var budget: Duration?

    public init(
        initialBackoff: Duration = .milliseconds(200),
        maxBackoff: Duration = .seconds(30),
        budget: Duration? = .seconds(900)
    ) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.budget = budget
    }

    /// The wait before retry number `attempt` (1 = first retry).
    ///
    /// Full jitter: uniformly random in `[0, min(maxBackoff, initialBackoff * 2^(attempt-1))]`.
    /// When `retryAfter` is given, the wait is `max(jittered, retryAfter)`.
    public func delay(attempt: Int, retryAfter: Duration?, using rng: inout some RandomNumberGenerator) -> Duration {
        let ceiling = self.ceiling(attempt: attempt)
        let ceilingNanos = Self.nanoseconds(ceiling)
        let jittered: Duration =
            ceilingNanos > 0 ? .nanoseconds(Int64(UInt64.random(in: 0...UInt64(ceilingNanos), using: &rng))) : .zero
        guard let retryAfter else { return jittered }
        return max(jittered, retryAfter)
    }

    /// The wait before retry `attempt` with the system random generator.
    public func delay(attempt: Int, retryAfter: Duration?) -> Duration {
        var rng = SystemRandomNumberGenerator()
        return self.delay(attempt: attempt, retryAfter: retryAfter, using: &rng)
    }

    /// `min(maxBackoff, initialBackoff * 2^(attempt-1))`, without overflow.
    public func ceiling(attempt: Int) -> Duration {
        let cap = max(Self.nanoseconds(self.maxBackoff), 0)
        let initial = max(Self.nanoseconds(self.initialBackoff), 0)
        let exponent = max(attempt - 1, 0)
        guard exponent < 63 else { return .nanoseconds(cap) }
        let (scaled, overflow) = initial.multipliedReportingOverflow(by: Int64(1) << exponent)
        if overflow || scaled > cap {
            return .nanoseconds(cap)
        }
        return .nanoseconds(scaled)
    }

    /// Whether an event that has been retried for `elapsed` (excluding outage time) should give up.
    public func isExhausted(elapsed: Duration) -> Bool {
        guard let budget, budget > .zero else { return false }
        return elapsed >= budget
    }

    /// Saturating conversion to whole nanoseconds.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }
}
