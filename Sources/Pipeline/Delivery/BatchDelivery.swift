import CoreMetrics
import JuneClient
import JuneTransform
import Kafka
import Logging

// MARK: - Pipeline + batch delivery

extension Pipeline {
    /// Sends a batch job to its end and returns the worker's next jobs (a batch that is not full waits
    /// `batchLinger` for more ready lanes first, and takes them into the job). The whole job, linger and
    /// every split half, ends by `deadline`.
    func deliverBatch(_ taken: [RelayRecord], deadline: ContinuousClock.Instant) async -> NextJobs {
        var records = taken
        if configuration.batchLinger > .zero, records.count < configuration.batchMaxEvents {
            let linger: Duration = min(configuration.batchLinger, max(Duration.zero, deadline - ContinuousClock.now))
            try? await Task.sleep(for: linger)
            state.withLock { $0.topUpLingering(&records) }
        }
        let (left, retryAfter) = await send(records, deadline: deadline)
        let now = ContinuousClock.now
        let ended = state.withLock { $0.batchEnded(records, left: left, retryAfter: retryAfter, at: now) }
        for retry in ended.retries { startRetryTimer(for: retry.head, after: retry.after, count: retry.count) }
        return ended.jobs
    }

    /// Posts `batch` as one request (by the job's `deadline`) and handles the answer. A rejected batch is
    /// split in halves, sent one after the other (so a lane whose run straddles the halves keeps its
    /// order), down to single events: only the events June rejects are dead-lettered. Returns the records
    /// to retry later (after a retryable answer, a refusal, or a fence), in order, with the `Retry-After`
    /// June gave. The halves of a split are not new attempts of their events (`june-relay.error.attempts`
    /// counts sends, not splits).
    private func send(
        _ batch: [RelayRecord],
        isSplit: Bool = false,
        deadline: ContinuousClock.Instant
    ) async -> (left: [RelayRecord], retryAfter: Duration?) {
        let started = ContinuousClock.now
        let fence = state.withLock { $0.fence(batch, isSplit: isSplit, deadline: deadline, at: started) }
        var records = fence.send
        guard !records.isEmpty else { return (fence.held, nil) }
        let items = Self.startAttempt(&records, isSplit: isSplit, at: started, unavailable: fence.unavailable)
        let outcome = await sender.send(batch: items, deadline: deadline)
        let now = ContinuousClock.now
        metrics.recordBatchRequest(outcome: PipelineMetrics.Outcome(outcome), duration: now - started, events: records.count)
        switch outcome {
        case .delivered:
            for item in items { metrics.recordDelivered(item.request.type) }
            noteTransition(answered { $0.batchDelivered(records, rtt: now - started, at: now) })
            return ([], nil)
        case .rejected(let status, let message):
            guard records.count > 1 else {
                let (transition, deadLetter) = answered { $0.rejected(&records[0], status: status, isFirstAttempt: false, at: now) }
                noteTransition(transition, message: message)
                guard deadLetter else { return (records, nil) }
                logDeadLetterCause(records[0], reason: .rejected, status: status)
                await deadLetterInJob(records[0], reason: .rejected, message: message, httpStatus: status)
                return ([], nil)
            }
            noteTransition(answered { $0.batchRejected(rtt: now - started, at: now) })
            // Halves that could not be answered within the job's deadline (another request as long as
            // this one) go back at once, each alone: the job ends in time and the search goes on in parallel.
            guard now + (now - started) < deadline else { return (RelayWork.alone(records), nil) }
            let middle = records.count / 2
            let first = await send(Array(records[..<middle]), isSplit: true, deadline: deadline)
            guard first.left.isEmpty else { return (first.left + records[middle...], first.retryAfter) }
            return await send(Array(records[middle...]), isSplit: true, deadline: deadline)
        case .refused(let status, let message):
            noteTransition(state.withLock { $0.recordRefused(status: status, at: now) }, message: message)
            return (records, nil)
        case .retryable(let status, let retryAfter, let message):
            let (transition, givingUp) = answered { $0.batchFailed(records, retryAfter: retryAfter, at: now) }
            noteTransition(transition, message: message)
            return (await deadLetterGivenUp(records, givingUp: givingUp, message: message, status: status), retryAfter)
        }
    }

    /// Counts a send in the records' bookkeeping (the first attempt's time and June-unavailable time;
    /// one more attempt, unless the send continues a split) and returns their batch items.
    private static func startAttempt(
        _ records: inout [RelayRecord],
        isSplit: Bool,
        at started: ContinuousClock.Instant,
        unavailable: Duration
    ) -> [JuneBatchItem] {
        var items: [JuneBatchItem] = []
        items.reserveCapacity(records.count)
        for index in records.indices {
            if records[index].firstAttempt == nil {
                records[index].firstAttempt = started
                records[index].unavailableTimeAtFirstAttempt = unavailable
            }
            if !isSplit, !records[index].continuesSplit { records[index].attempts += 1 }
            records[index].continuesSplit = false
            if let item = records[index].payload.batchItem { items.append(item) }
        }
        return items
    }

    /// Dead-letters the records given up on after a retryable failure; returns the others, to retry. A
    /// record given up on behind one of its lane that is retried is retried too, so the lane's order is kept.
    private func deadLetterGivenUp(_ records: [RelayRecord], givingUp: [Bool], message: String, status: Int?) async -> [RelayRecord] {
        var left: [RelayRecord] = []
        for (record, givesUp) in zip(records, givingUp) {
            if givesUp, !left.contains(where: { $0.lane == record.lane }) {
                logDeadLetterCause(record, reason: .retriesExhausted, status: status)
                await deadLetterInJob(record, reason: .retriesExhausted, message: message, httpStatus: status)
            } else {
                left.append(record)
            }
        }
        return left
    }
}
