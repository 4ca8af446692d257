// MARK: - RelayWork + June's health and the mode

extension RelayWork {
    /// What an answer from June changed.
    enum Transition: Equatable {
        case outageBegan
        case refusalBegan(status: Int)
        /// June rejects every real event (a rejection storm): treated as a refusal.
        case rejectingAllBegan(status: Int)
        /// June accepts again after an outage or a refusal of this long.
        case recovered(after: Duration, wasRefused: Bool)
    }

    /// Total time June was unavailable up to `now` (outage and refusal time do not use up retry budgets).
    func unavailableTime(at now: ContinuousClock.Instant) -> Duration {
        guard let since = mode.unavailableSince else { return unavailableTotal }
        return unavailableTotal + (now - since)
    }

    /// June accepted a real event (2xx).
    mutating func recordAccepted(at now: ContinuousClock.Instant) -> Transition? {
        health.accepted(at: now)
        return recover(at: now)
    }

    /// June answered a probe, or rejected a whole batch (before it is split), with something that is
    /// neither a retryable failure nor a refusal: June is up and takes the key. It does not end a
    /// rejection storm (only an accepted real event does).
    mutating func recordAnswered(at now: ContinuousClock.Instant) -> Transition? {
        guard !mode.isRejectingAll else { return nil }
        health.answered(at: now)
        return recover(at: now)
    }

    /// June rejected a real event of `lane` with `status`. Returns what changed and whether the event
    /// is to be dead-lettered: not while June rejects everything (a rejection storm, which this
    /// rejection may complete), when the event is held back and retried like at a refusal.
    mutating func recordRejected(lane: LaneKey, status: Int, at now: ContinuousClock.Instant) -> (transition: Transition?, deadLetter: Bool) {
        if mode.isRejectingAll || isStopping { return (nil, !mode.isRejectingAll) }
        guard health.rejected(lane: lane, at: now) else { return (recover(at: now), true) }
        mode = .refused(since: mode.unavailableSince ?? now, status: status, rejectingAll: true)
        limiter.restart(at: now)
        return (.rejectingAllBegan(status: status), false)
    }

    /// Back to running after an outage or a refusal, if there was one.
    private mutating func recover(at now: ContinuousClock.Instant) -> Transition? {
        guard let since = mode.unavailableSince else { return nil }
        let wasRefused = if case .refused = mode { true } else { false }
        unavailableTotal += now - since
        mode = .running
        limiter.restart(at: now)
        return .recovered(after: now - since, wasRefused: wasRefused)
    }

    /// A retryable failure (timeout, connection error, 408, 429, 5xx): an outage begins when
    /// ``JuneHealth/retryableFailure(at:)`` says so.
    mutating func recordRetryableFailure(at now: ContinuousClock.Instant) -> Transition? {
        guard health.retryableFailure(at: now), mode == .running else { return nil }
        mode = .outage(since: now)
        limiter.restart(at: now)
        return .outageBegan
    }

    /// June refused the relay (401, 403, 404, 405, 407, 410, 3xx).
    mutating func recordRefused(status: Int, at now: ContinuousClock.Instant) -> Transition? {
        health.refused()
        switch mode {
        case .running:
            mode = .refused(since: now, status: status)
            limiter.restart(at: now)
            return .refusalBegan(status: status)
        case .outage(let since):
            // The outage turned into a refusal: one unavailable episode, still counted from its start.
            mode = .refused(since: since, status: status)
            return .refusalBegan(status: status)
        case .refused(let since, let old, let rejectingAll):
            mode = .refused(since: since, status: status)
            return old == status && !rejectingAll ? nil : .refusalBegan(status: status)
        case .draining, .stopped:
            return nil
        }
    }

    /// A probe during a refusal failed retryably: June is down now, the refusal is not known to go on.
    mutating func probeFailedRetryably() {
        if case .refused(let since, _, false) = mode { mode = .outage(since: since) }
    }
}
