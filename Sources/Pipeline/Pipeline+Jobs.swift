import CoreMetrics
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging

// MARK: - Pipeline + jobs

extension Pipeline {
    /// Takes jobs from ready lanes while slots are free (called under the state lock).
    func takeJobs(_ state: inout PipelineState) -> [PipelineJob] {
        var jobs: [PipelineJob] = []
        while state.hasFreeSlot, let job = takeJob(&state) {
            jobs.append(job)
        }
        return jobs
    }

    /// Takes one job, if a lane is ready, and its slot. In single mode, `preferring` (the lane a worker
    /// just finished a record of) goes first when it has more: see ``LaneTable/takeHead(of:)``.
    func takeJob(_ state: inout PipelineState, preferring lane: LaneKey? = nil) -> PipelineJob? {
        guard state.hasFreeSlot else { return nil }
        let job: PipelineJob?
        switch configuration.delivery {
        case .single:
            let run = lane.flatMap { state.lanes.takeHead(of: $0) }.map { [$0] } ?? state.lanes.takeRun(maxRecords: 1)
            job = run.map { run in
                if case .failure = run[0].request { return .invalid(run[0]) }
                return .deliver(run[0])
            }
        case .batch:
            job = takeBatchJob(&state)
        }
        if let job { state.startJob(job.records) }
        return job
    }

    func startWorkers(_ jobs: [PipelineJob]) {
        for job in jobs { tasks.start(.worker(job)) }
    }

    /// Takes and starts every job that can run now (after a retry wait, a recovery, a revoke).
    func startReadyJobs() {
        startWorkers(state.withLock { takeJobs(&$0) })
    }

    func perform(_ work: PipelineWork) async {
        switch work {
        case .worker(let first):
            var job: PipelineJob? = first
            while let current = job {
                let records = await run(current)
                let lane = records.count == 1 ? records[0].lane : nil
                let extra: [PipelineJob]
                (job, extra) = state.withLock { state in
                    state.endJob(records)
                    // While June rejects events with none accepted since, the worker does not stay with
                    // its lane: the next job comes from another user, so a rejection storm shows across
                    // users within its first window (8 workers kept to 8 users would not).
                    let next = takeJob(&state, preferring: state.health.rejectionsInARow == 0 ? lane : nil)
                    // Slots the concurrency limit gained meanwhile get workers of their own (a worker
                    // only ever carries one job, and nothing else starts workers while the buffer is full).
                    return (next, next == nil ? [] : takeJobs(&state))
                }
                startWorkers(extra)
            }
        case .retry(let ticket, let delay):
            do {
                try await Task.sleep(for: delay)
            } catch {
                return  // cancelled: the pipeline is shutting down
            }
            startWorkers(state.withLock { state in
                state.lanes.retryDue(ticket)
                return takeJobs(&state)
            })
        }
    }

    /// Runs a job; returns the records it ended with (a batch may take more while it lingers).
    func run(_ job: PipelineJob) async -> [RelayRecord] {
        switch job {
        case .invalid(let record):
            if case .failure(let error) = record.request {
                let reason: DeadLetterReason = error.reason == .invalidJSON ? .invalidJSON : .invalidEvent
                await deadLetterAndFinish(record, reason: reason, message: error.message, httpStatus: nil)
            }
            return [record]
        case .deliver(let record):
            if case .success(let request) = record.request { await deliver(record, request: request) }
            return [record]
        case .batch(let records, let deadline):
            return await deliverBatch(records, deadline: deadline)
        }
    }

    // MARK: Single delivery

    private func deliver(_ original: RelayRecord, request: JuneRequest) async {
        var record = original
        let started = ContinuousClock.now
        // The June-unavailable time at the first attempt is read with the first failure, under the lock
        // that records it: a delivered event (the common case) then takes one lock, not two.
        let firstAttempt = record.firstAttempt == nil
        if firstAttempt { record.firstAttempt = started }
        record.attempts += 1
        let outcome = await sender.send(request)
        let now = ContinuousClock.now
        metrics.recordRequest(request.type, outcome: PipelineMetrics.Outcome(outcome), duration: now - started)
        if configuration.delivery == .batch { metrics.batchEvents.record(1) }
        switch outcome {
        case .delivered:
            metrics.recordDelivered(request.type)
            noteTransition(state.withLock { state in
                markDelivered([record], in: &state)
                noteCapacity(.success, rtt: now - started, at: now, in: &state)
                return state.recordAccepted(at: now)
            })
        case .rejected(let status, let message):
            if await !deadLetterRejected(&record, status: status, message: message, firstAttempt: firstAttempt, at: now) {
                retryLater([record], retryAfter: nil, at: now)
            }
        case .refused(let status, let message):
            noteTransition(state.withLock { state in
                if firstAttempt { record.unavailableTimeAtFirstAttempt = state.unavailableTime(at: now) }
                return state.recordRefused(status: status, at: now)
            }, message: message)
            retryLater([record], retryAfter: nil, at: now)
        case .retryable(let status, let retryAfter, let message):
            // A failure of a record given up on is the record's, not June's: it does not count toward an outage.
            let (transition, givesUp): (PipelineState.Transition?, Bool) = state.withLock { state in
                if firstAttempt { record.unavailableTimeAtFirstAttempt = state.unavailableTime(at: now) }
                if self.givesUp(record, at: now, in: state) { return (nil, true) }
                noteCapacity(Self.capacitySignal(retryAfter: retryAfter), rtt: nil, at: now, in: &state)
                return (state.recordRetryableFailure(at: now), false)
            }
            noteTransition(transition, message: message)
            if givesUp {
                await deadLetterExhausted(record, message: message, httpStatus: status)
            } else {
                retryLater([record], retryAfter: retryAfter, at: now)
            }
        }
    }

    /// A rejected record (single, or the last of a split batch): dead-lettered as `rejected`, unless June
    /// is rejecting everything (a rejection storm, which this rejection may complete): then it is held
    /// back like at a refusal and nothing is dead-lettered. Returns false when the caller must retry it.
    func deadLetterRejected(
        _ record: inout RelayRecord,
        status: Int,
        message: String,
        firstAttempt: Bool,
        at now: ContinuousClock.Instant
    ) async -> Bool {
        let lane = record.lane
        let (transition, deadLetter, unavailable) = state.withLock { state in
            // June answered about the event: it did the work (a success for the concurrency limit).
            noteCapacity(.success, rtt: nil, at: now, in: &state)
            let (transition, deadLetter) = state.recordRejected(lane: lane, status: status, at: now)
            return (transition, deadLetter, state.unavailableTime(at: now))
        }
        noteTransition(transition, message: message)
        guard deadLetter else {
            if firstAttempt { record.unavailableTimeAtFirstAttempt = unavailable }
            return false
        }
        logger.warning("June rejected an event", metadata: record.logMetadata([PipelineLoggingKeys.statusCode: "\(status)"]))
        await deadLetterAndFinish(record, reason: .rejected, message: message, httpStatus: status)
        return true
    }

    /// Feeds one answer to the concurrency limiter (under the state lock); the limit gauge follows it.
    func noteCapacity(
        _ signal: ConcurrencyLimiter.Signal,
        rtt: Duration?,
        at now: ContinuousClock.Instant,
        in state: inout PipelineState
    ) {
        let before = state.limiter.limit
        let limit = state.recordCapacitySignal(signal, rtt: rtt, at: now)
        if limit != before { metrics.concurrencyLimit.record(limit) }
    }

    /// A retryable failure (429, 5xx, 408, a timeout, a connection error) as the limiter sees it: June
    /// is overloaded or unreachable; with `Retry-After`, for that long.
    static func capacitySignal(retryAfter: Duration?) -> ConcurrencyLimiter.Signal {
        retryAfter.map { .retryAfter($0) } ?? .overload
    }

    /// Dead-letters a record June kept failing as `retries-exhausted`, and quarantines its lane.
    func deadLetterExhausted(_ record: RelayRecord, message: String, httpStatus: Int?) async {
        logger.warning("Retry budget exhausted", metadata: record.logMetadata([PipelineLoggingKeys.retryAttempt: "\(record.attempts)"]))
        await deadLetterAndFinish(record, reason: .retriesExhausted, message: message, httpStatus: httpStatus)
    }

    /// Whether a record that failed retryably is to be dead-lettered as `retries-exhausted` now (called
    /// under the state lock). Only while June is running and has accepted other real events (2xx; a
    /// probe's answer never counts), so the record is the problem: either its retrying time (without
    /// June-unavailable time) reached the budget, with an acceptance since its first attempt, or its
    /// lane is quarantined (an earlier head exhausted its budget) and June accepted an event within
    /// ``quarantineEvidence``: then one attempt is all it gets. Else June is down for everyone and the
    /// record keeps retrying.
    func givesUp(_ record: RelayRecord, at now: ContinuousClock.Instant, in state: PipelineState) -> Bool {
        guard state.mode == .running, let firstAttempt = record.firstAttempt,
            let budget = configuration.retryPolicy.budget, budget > .zero
        else { return false }
        if state.lanes.isQuarantined(record.lane) {
            return state.health.acceptedAfter(now - max(budget, Self.quarantineEvidence))
        }
        guard state.health.acceptedAfter(firstAttempt) else { return false }
        let used = (now - firstAttempt) - (state.unavailableTime(at: now) - record.unavailableTimeAtFirstAttempt)
        return configuration.retryPolicy.isExhausted(elapsed: used)
    }

    /// A quarantined lane's event that fails is dead-lettered at once when June accepted a real event
    /// within this long (or the retry budget, if longer).
    static let quarantineEvidence: Duration = .seconds(60)

    /// How much of the record's retry budget is left (nil: no budget).
    private func remainingBudget(_ record: RelayRecord, at now: ContinuousClock.Instant) -> Duration? {
        guard let budget = configuration.retryPolicy.budget, budget > .zero, let firstAttempt = record.firstAttempt else { return nil }
        let used = state.withLock { (now - firstAttempt) - ($0.unavailableTime(at: now) - record.unavailableTimeAtFirstAttempt) }
        return budget - used
    }

    /// Puts the records (the head run of one lane) back to wait, and starts the retry timer. The wait is
    /// the backoff (at least `Retry-After`), never beyond the remaining budget, and short while June is
    /// unavailable (probes decide when it is back; the lane must be ready soon after).
    func retryLater(_ records: [RelayRecord], retryAfter: Duration?, at now: ContinuousClock.Instant) {
        guard let head = records.first else { return }
        metrics.retries.increment(by: records.count)
        var delay = configuration.retryPolicy.delay(attempt: head.attempts, retryAfter: retryAfter)
        if let remaining = remainingBudget(head, at: now), remaining > .zero {
            delay = min(delay, remaining)
        }
        if state.withLock({ $0.mode.isJuneUnavailable }) {
            delay = min(delay, configuration.probeIntervalMax)
        }
        logger.debug(
            "June request will be retried",
            metadata: head.logMetadata([PipelineLoggingKeys.retryAttempt: "\(head.attempts)", PipelineLoggingKeys.retryDelay: "\(delay)"])
        )
        state.withLock { $0.lanes.deferRetry(records) }
        tasks.start(.retry(RetryTicket(head), after: delay))
    }

    /// Marks records done (offset tracker) and advances their lanes. Stale results (the partition was
    /// revoked meanwhile) change nothing. `quarantine`: the records were dead-lettered as
    /// `retries-exhausted`, so their lanes are quarantined (see ``LaneTable/quarantine(_:)``).
    func finish(_ records: [RelayRecord], quarantine: Bool = false) {
        state.withLock { state in
            if quarantine { for record in records { state.lanes.quarantine(record.lane) } }
            markDone(records, in: &state)
        }
    }

    /// ``markDone(_:in:)`` for records June accepted: their lanes leave quarantine.
    func markDelivered(_ records: [RelayRecord], in state: inout PipelineState) {
        if state.lanes.quarantinedLanes > 0 {
            for record in records { state.lanes.liftQuarantine(record.lane) }
        }
        markDone(records, in: &state)
    }

    /// ``finish(_:)`` under a lock the caller holds.
    func markDone(_ records: [RelayRecord], in state: inout PipelineState) {
        for record in records {
            state.tracker.markDone(record.partition, offset: record.offset, epoch: record.epoch)
            state.lanes.finish(record)
        }
    }

    /// Gives up records without marking them done (shutdown, revoke): their lanes are released.
    func abandon(_ records: [RelayRecord]) {
        state.withLock { state in
            var seen: Set<LaneKey> = []
            for record in records where seen.insert(record.lane).inserted { state.lanes.abandon(record) }
        }
    }
}

extension PipelineMetrics.Outcome {
    init(_ outcome: SendOutcome) {
        switch outcome {
        case .delivered: self = .delivered
        case .retryable: self = .retryable
        case .rejected: self = .rejected
        case .refused: self = .refused
        }
    }
}
