import JuneClient

// MARK: - RelayWork + answers, retry decisions and dead letters

extension RelayWork {
    /// June answered a single-event job's request for `attempt` (its `attempts` and `firstAttempt`
    /// already count this send; `isFirstAttempt` when it was the first). One lock round trip: the
    /// answer's effect on June's health and the concurrency limit, the record's ``RetryDecision`` and
    /// its effect on the lane and the offsets, and, unless a dead letter is to be written, the end of the
    /// job and the worker's next jobs.
    mutating func completed(
        _ attempt: RelayRecord,
        outcome: SendOutcome,
        isFirstAttempt: Bool,
        rtt: Duration,
        at now: ContinuousClock.Instant
    ) -> Completion {
        var record = attempt
        var transition: Transition?
        var decision: RetryDecision
        switch outcome {
        case .delivered:
            limiter.record(.success, rtt: rtt, inFlight: inFlight, at: now)
            transition = recordAccepted(at: now)
            decision = .done
        case .rejected(let status, _):
            let answer = rejected(&record, status: status, isFirstAttempt: isFirstAttempt, at: now)
            transition = answer.transition
            decision = answer.deadLetter ? .deadLetter(.rejected) : .retry(after: retryDelay(for: record, retryAfter: nil, at: now))
        case .refused(let status, _):
            if isFirstAttempt { record.unavailableTimeAtFirstAttempt = unavailableTime(at: now) }
            transition = recordRefused(status: status, at: now)
            decision = .retry(after: retryDelay(for: record, retryAfter: nil, at: now))
        case .retryable(_, let retryAfter, _):
            if isFirstAttempt { record.unavailableTimeAtFirstAttempt = unavailableTime(at: now) }
            // A failure of a record given up on is the record's, not June's: it does not count toward an
            // outage, nor against June's capacity.
            if givesUp(record, at: now) {
                decision = .deadLetter(.retriesExhausted)
            } else {
                limiter.record(Self.capacitySignal(retryAfter: retryAfter), rtt: nil, inFlight: inFlight, at: now)
                transition = recordRetryableFailure(at: now)
                decision = .retry(after: retryDelay(for: record, retryAfter: retryAfter, at: now))
            }
        }
        // A delivered record is marked done even when its partition is being revoked (the revoke waits
        // for it and commits it; the tracker's epoch check drops results of an older ownership); any
        // other decision is the current owner's to make.
        if decision != .done, !owns(record) { decision = .dropStale }
        switch decision {
        case .done:
            markDelivered([record])
        case .retry:
            lanes.deferRetry([record])
        case .dropStale:
            lanes.abandon(record)
        case .deadLetter:
            return Completion(record: record, decision: decision, transition: transition, jobs: .none)
        }
        return Completion(record: record, decision: decision, transition: transition, jobs: jobEnded([record], at: now))
    }

    /// June rejected a real event (single, or the last of a split batch): June answered about the event,
    /// so it did the work (a success for the concurrency limit). The event is to be dead-lettered as
    /// `rejected`, unless June is rejecting everything (a rejection storm, which this rejection may
    /// complete): then it is held back like at a refusal.
    mutating func rejected(
        _ record: inout RelayRecord,
        status: Int,
        isFirstAttempt: Bool,
        at now: ContinuousClock.Instant
    ) -> (transition: Transition?, deadLetter: Bool) {
        limiter.record(.success, rtt: nil, inFlight: inFlight, at: now)
        let (transition, deadLetter) = recordRejected(lane: record.lane, status: status, at: now)
        if !deadLetter, isFirstAttempt { record.unavailableTimeAtFirstAttempt = unavailableTime(at: now) }
        return (transition, deadLetter)
    }

    /// A retryable failure (429, 5xx, 408, a timeout, a connection error) as the limiter sees it: June
    /// is overloaded or unreachable; with `Retry-After`, for that long.
    static func capacitySignal(retryAfter: Duration?) -> ConcurrencyLimiter.Signal {
        retryAfter.map { .retryAfter($0) } ?? .overload
    }

    // MARK: Retry decisions

    /// Whether a record that failed retryably is to be dead-lettered as `retries-exhausted` now. Only
    /// while June is running and has accepted other real events (2xx; a probe's answer never counts), so
    /// the record is the problem: either its retrying time (without June-unavailable time) reached the
    /// budget, with an acceptance since its first attempt, or its lane is quarantined (an earlier head
    /// exhausted its budget) and June accepted an event within ``quarantineEvidence``: then one attempt
    /// is all it gets. Else June is down for everyone and the record keeps retrying.
    func givesUp(_ record: RelayRecord, at now: ContinuousClock.Instant) -> Bool {
        guard mode == .running, let firstAttempt = record.firstAttempt,
            let budget = configuration.retryPolicy.budget, budget > .zero
        else { return false }
        if lanes.isQuarantined(record.lane) {
            return health.acceptedAfter(now - max(budget, Self.quarantineEvidence))
        }
        guard health.acceptedAfter(firstAttempt) else { return false }
        let used = (now - firstAttempt) - (unavailableTime(at: now) - record.unavailableTimeAtFirstAttempt)
        return configuration.retryPolicy.isExhausted(elapsed: used)
    }

    /// A quarantined lane's event that fails is dead-lettered at once when June accepted a real event
    /// within this long (or the retry budget, if longer).
    static let quarantineEvidence: Duration = .seconds(60)

    /// How long a record (the head of a run) waits before it is sent again: the backoff (at least
    /// `Retry-After`), never beyond the remaining budget, and short while June is unavailable (probes
    /// decide when it is back; the lane must be ready soon after).
    func retryDelay(for head: RelayRecord, retryAfter: Duration?, at now: ContinuousClock.Instant) -> Duration {
        var delay = configuration.retryPolicy.delay(attempt: head.attempts, retryAfter: retryAfter)
        if let remaining = remainingBudget(head, at: now), remaining > .zero {
            delay = min(delay, remaining)
        }
        if mode.isJuneUnavailable {
            delay = min(delay, configuration.probeIntervalMax)
        }
        return delay
    }

    /// How much of the record's retry budget is left (nil: no budget).
    private func remainingBudget(_ record: RelayRecord, at now: ContinuousClock.Instant) -> Duration? {
        guard let budget = configuration.retryPolicy.budget, budget > .zero, let firstAttempt = record.firstAttempt else { return nil }
        return budget - ((now - firstAttempt) - (unavailableTime(at: now) - record.unavailableTimeAtFirstAttempt))
    }

    /// Puts a run of one lane (its head first, not empty) back to wait; returns how long.
    mutating func deferRetry(_ run: [RelayRecord], retryAfter: Duration?, at now: ContinuousClock.Instant) -> Duration {
        let delay = retryDelay(for: run[0], retryAfter: retryAfter, at: now)
        lanes.deferRetry(run)
        return delay
    }

    /// A retry wait is over: the lane becomes ready again (unless it was dropped or moved on
    /// meanwhile). Returns the jobs that can start now.
    mutating func retryDue(_ ticket: RetryTicket, at now: ContinuousClock.Instant = .now) -> [PipelineJob] {
        lanes.retryDue(ticket)
        return takeJobs(at: now)
    }

    // MARK: Done, dead-lettered, abandoned

    /// Records June accepted: done, and their lanes leave quarantine.
    mutating func markDelivered(_ records: [RelayRecord]) {
        if lanes.quarantinedLanes > 0 {
            for record in records { lanes.liftQuarantine(record.lane) }
        }
        markDone(records)
    }

    /// Marks records done (offset tracker) and advances their lanes. Stale results (the partition was
    /// revoked meanwhile) change nothing.
    mutating func markDone(_ records: [RelayRecord]) {
        for record in records {
            tracker.markDone(record.partition, offset: record.offset, epoch: record.epoch)
            lanes.finish(record)
        }
    }

    /// A dead-letter write for `record` ended: acknowledged (`written`), its offset is done, and a record
    /// dead-lettered as `retries-exhausted` quarantines its lane (see ``LaneTable/quarantine(_:)``); not
    /// written (revoked, stopping), its lane is released as it is.
    mutating func deadLetterEnded(_ record: RelayRecord, reason: DeadLetterReason, written: Bool) {
        guard written else {
            lanes.abandon(record)
            return
        }
        if reason == .retriesExhausted { lanes.quarantine(record.lane) }
        markDone([record])
    }

    /// Gives up records without marking them done (shutdown, revoke): their lanes are released.
    mutating func abandon(_ records: [RelayRecord]) {
        var seen: Set<LaneKey> = []
        for record in records where seen.insert(record.lane).inserted { lanes.abandon(record) }
    }
}
