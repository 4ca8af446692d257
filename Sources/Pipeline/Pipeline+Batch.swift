import CoreMetrics
import JuneClient
import JuneTransform
import Kafka
import Logging

// MARK: - Pipeline + batch delivery

extension Pipeline {
    /// Takes a batch job (under the state lock, with a free slot): runs of consecutive records of ready
    /// lanes, in lane order, within `batchMaxEvents` items and `batchMaxBytes` of body. A ready head that
    /// cannot travel in a batch (a record that failed to transform, or an item over the item limit,
    /// which goes alone to its per-event endpoint) becomes a job of its own, in its lane's order.
    func takeBatchJob(_ state: inout PipelineState) -> PipelineJob? {
        guard let head = state.lanes.peekReady() else { return nil }
        guard isBatchable(head) else {
            guard let run = state.lanes.takeRun(maxRecords: 1) else { return nil }
            if case .failure = run[0].request { return .invalid(run[0]) }
            return .deliver(run[0])
        }
        if head.sendAlone {
            guard let run = state.lanes.takeRun(maxRecords: 1) else { return nil }
            return .batch(run, deadline: .now + configuration.requestTimeout)
        }
        var batch: [RelayRecord] = []
        var bytes = JuneBatchBody.envelopeSize
        topUp(&batch, bytes: &bytes, state: &state)
        return batch.isEmpty ? nil : .batch(batch, deadline: .now + configuration.requestTimeout)
    }

    /// Adds runs of ready lanes to `batch` while they fit (under the state lock).
    func topUp(_ batch: inout [RelayRecord], bytes: inout Int, state: inout PipelineState) {
        let maxEvents = configuration.batchMaxEvents
        let maxBytes = configuration.batchMaxBytes
        while batch.count < maxEvents, let next = state.lanes.peekReady(), isBatchable(next), !next.sendAlone {
            guard bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1) <= maxBytes else { break }
            var runBytes = bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1)
            guard
                let run = state.lanes.takeRun(
                    maxRecords: maxEvents - batch.count,
                    admits: { record, _ in
                        guard self.isBatchable(record), !record.sendAlone, runBytes + record.batchItemSize + 1 <= maxBytes else { return false }
                        runBytes += record.batchItemSize + 1
                        return true
                    }
                )
            else { break }
            bytes = runBytes
            batch += run
        }
    }

    func isBatchable(_ record: RelayRecord) -> Bool {
        record.payload.batchItem != nil && record.batchItemSize <= configuration.batchItemLimit
    }

    /// Sends a batch job and returns the records it ended with (a batch that is not full waits
    /// `batchLinger` for more ready lanes first, and takes them into the job). The whole job, linger and
    /// every split half, ends by `deadline`.
    func deliverBatch(_ taken: [RelayRecord], deadline: ContinuousClock.Instant) async -> [RelayRecord] {
        var records = taken
        if configuration.batchLinger > .zero, records.count < configuration.batchMaxEvents {
            let linger: Duration = min(configuration.batchLinger, max(Duration.zero, deadline - ContinuousClock.now))
            try? await Task.sleep(for: linger)
            state.withLock { state in
                guard state.mode == .running else { return }
                var bytes = JuneBatchBody.envelopeSize + records.reduce(0) { $0 + $1.batchItemSize + 1 } - 1
                let before = records.count
                topUp(&records, bytes: &bytes, state: &state)
                state.addToJob(records[before...])
            }
        }
        let (left, retryAfter) = await send(records, deadline: deadline)
        let now = ContinuousClock.now
        // Left records go back to their lanes as runs (consecutive records of one lane).
        var index = 0
        while index < left.count {
            var end = index + 1
            while end < left.count, left[end].lane == left[index].lane { end += 1 }
            retryLater(Array(left[index..<end]), retryAfter: retryAfter, at: now)
            index = end
        }
        return records
    }

    /// What may be sent of `batch` now: records of partitions this member no longer owns (revoked,
    /// re-assigned) or of a stopping relay are dropped, neither sent nor dead-lettered (the next owner
    /// sends them). Split halves are held back (returned as `held`, to retry) once the job's deadline
    /// passed or June became unavailable (a refusal, a rejection storm); so is a first request whose
    /// deadline passed before it could be written.
    private func fence(
        _ batch: [RelayRecord],
        isSplit: Bool,
        deadline: ContinuousClock.Instant,
        at now: ContinuousClock.Instant
    ) -> (send: [RelayRecord], held: [RelayRecord], unavailable: Duration) {
        var owned: [RelayRecord] = []
        var stale: [RelayRecord] = []
        let (hold, unavailable) = state.withLock { state in
            for record in batch {
                if !state.isStopping, state.owns(record) { owned.append(record) } else { stale.append(record) }
            }
            return (now >= deadline || (isSplit && state.mode.isJuneUnavailable), state.unavailableTime(at: now))
        }
        if !stale.isEmpty { abandon(stale) }
        guard !hold else { return ([], isSplit ? Self.alone(owned) : owned, unavailable) }
        return (owned, [], unavailable)
    }

    /// The records, each to be sent in a batch of its own from now on.
    private static func alone(_ records: [RelayRecord]) -> [RelayRecord] {
        records.map { record in
            var record = record
            record.sendAlone = true
            record.continuesSplit = true
            return record
        }
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
        var (records, held, unavailable) = fence(batch, isSplit: isSplit, deadline: deadline, at: started)
        guard !records.isEmpty else { return (held, nil) }
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
        let outcome = await sender.send(batch: items, deadline: deadline)
        let now = ContinuousClock.now
        metrics.recordBatchRequest(outcome: PipelineMetrics.Outcome(outcome), duration: now - started, events: records.count)
        switch outcome {
        case .delivered:
            for item in items { metrics.recordDelivered(item.request.type) }
            noteTransition(state.withLock { state in
                markDelivered(records, in: &state)
                noteCapacity(.success, rtt: now - started, at: now, in: &state)
                return state.recordAccepted(at: now)
            })
            return ([], nil)
        case .rejected(let status, let message):
            guard records.count > 1 else {
                if await deadLetterRejected(&records[0], status: status, message: message, firstAttempt: false, at: now) { return ([], nil) }
                return (records, nil)
            }
            noteTransition(state.withLock { state in
                noteCapacity(.success, rtt: now - started, at: now, in: &state)
                return state.recordAnswered(at: now)
            })
            // Halves that could not be answered within the job's deadline (another request as long as
            // this one) go back at once, each alone: the job ends in time and the search goes on in parallel.
            guard now + (now - started) < deadline else { return (Self.alone(records), nil) }
            let middle = records.count / 2
            let first = await send(Array(records[..<middle]), isSplit: true, deadline: deadline)
            guard first.left.isEmpty else { return (first.left + records[middle...], first.retryAfter) }
            return await send(Array(records[middle...]), isSplit: true, deadline: deadline)
        case .refused(let status, let message):
            noteTransition(state.withLock { $0.recordRefused(status: status, at: now) }, message: message)
            return (records, nil)
        case .retryable(let status, let retryAfter, let message):
            let (transition, givingUp) = state.withLock { state in
                let givingUp = records.map { self.givesUp($0, at: now, in: state) }
                // A batch of records all given up on fails for them, not for June's capacity.
                if givingUp.contains(false) {
                    noteCapacity(Self.capacitySignal(retryAfter: retryAfter), rtt: nil, at: now, in: &state)
                }
                return (state.recordRetryableFailure(at: now), givingUp)
            }
            noteTransition(transition, message: message)
            var left: [RelayRecord] = []
            for (record, givesUp) in zip(records, givingUp) {
                // A record given up on is dead-lettered; the rest of its lane goes on after it, so the
                // lane's order is kept.
                if givesUp, !left.contains(where: { $0.lane == record.lane }) {
                    await deadLetterExhausted(record, message: message, httpStatus: status)
                } else {
                    left.append(record)
                }
            }
            return (left, retryAfter)
        }
    }
}
