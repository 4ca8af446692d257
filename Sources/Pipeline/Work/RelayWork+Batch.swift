// MARK: - RelayWork + batch jobs (fence, answers, end)

extension RelayWork {
    /// What a batch job may send of `batch` now.
    struct Fence: Sendable {
        /// Owned records to send in this request.
        var send: [RelayRecord]
        /// Owned records held back, to retry later.
        var held: [RelayRecord]
        /// June-unavailable time so far (the first attempt's reference for the retry budget).
        var unavailable: Duration
    }

    /// Records of partitions this member no longer owns (revoked, re-assigned) or of a stopping relay
    /// are dropped, neither sent nor dead-lettered (the next owner sends them): their lanes are released.
    /// Split halves are held back once the job's deadline passed or June became unavailable (a refusal,
    /// a rejection storm), each to be sent alone from then on; so is a first request whose deadline
    /// passed before it could be written.
    mutating func fence(
        _ batch: [RelayRecord],
        isSplit: Bool,
        deadline: ContinuousClock.Instant,
        at now: ContinuousClock.Instant
    ) -> Fence {
        var owned: [RelayRecord] = []
        var stale: [RelayRecord] = []
        for record in batch {
            if !isStopping, owns(record) { owned.append(record) } else { stale.append(record) }
        }
        if !stale.isEmpty { abandon(stale) }
        let unavailable = unavailableTime(at: now)
        guard now < deadline, !(isSplit && mode.isJuneUnavailable) else {
            return Fence(send: [], held: isSplit ? Self.alone(owned) : owned, unavailable: unavailable)
        }
        return Fence(send: owned, held: [], unavailable: unavailable)
    }

    /// The records, each to be sent in a batch of its own from now on.
    static func alone(_ records: [RelayRecord]) -> [RelayRecord] {
        records.map { record in
            var record = record
            record.sendAlone = true
            record.continuesSplit = true
            return record
        }
    }

    /// June accepted a batch: its records are done.
    mutating func batchDelivered(_ records: [RelayRecord], rtt: Duration, at now: ContinuousClock.Instant) -> Transition? {
        markDelivered(records)
        limiter.record(.success, rtt: rtt, inFlight: inFlight, at: now)
        return recordAccepted(at: now)
    }

    /// June rejected a whole batch of several events (it is split next): June is up and did the work.
    mutating func batchRejected(rtt: Duration, at now: ContinuousClock.Instant) -> Transition? {
        limiter.record(.success, rtt: rtt, inFlight: inFlight, at: now)
        return recordAnswered(at: now)
    }

    /// A batch failed retryably. Returns, per record, whether it is given up on (dead-lettered as
    /// `retries-exhausted`). A batch of records all given up on fails for them, not for June's capacity.
    mutating func batchFailed(
        _ records: [RelayRecord],
        retryAfter: Duration?,
        at now: ContinuousClock.Instant
    ) -> (transition: Transition?, givingUp: [Bool]) {
        let givingUp = records.map { givesUp($0, at: now) }
        if givingUp.contains(false) {
            limiter.record(Self.capacitySignal(retryAfter: retryAfter), rtt: nil, inFlight: inFlight, at: now)
        }
        return (recordRetryableFailure(at: now), givingUp)
    }

    /// A batch job ended with `records` in it, of which `left` (in order) are to be retried: they go back
    /// to their lanes as runs of consecutive records of one lane, each run with its retry timer. Ends the
    /// job; returns the timers to start and the worker's next jobs.
    mutating func batchEnded(
        _ records: [RelayRecord],
        left: [RelayRecord],
        retryAfter: Duration?,
        at now: ContinuousClock.Instant
    ) -> (retries: [(head: RelayRecord, after: Duration, count: Int)], jobs: NextJobs) {
        var retries: [(head: RelayRecord, after: Duration, count: Int)] = []
        var index = 0
        while index < left.count {
            var end = index + 1
            while end < left.count, left[end].lane == left[index].lane { end += 1 }
            let run = Array(left[index..<end])
            retries.append((run[0], deferRetry(run, retryAfter: retryAfter, at: now), run.count))
            index = end
        }
        return (retries, jobEnded(records, at: now))
    }
}
