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
        var batch: [RelayRecord] = []
        var bytes = JuneBatchBody.envelopeSize
        topUp(&batch, bytes: &bytes, state: &state)
        return batch.isEmpty ? nil : .batch(batch)
    }

    /// Adds runs of ready lanes to `batch` while they fit (under the state lock).
    func topUp(_ batch: inout [RelayRecord], bytes: inout Int, state: inout PipelineState) {
        let maxEvents = configuration.batchMaxEvents
        let maxBytes = configuration.batchMaxBytes
        while batch.count < maxEvents, let next = state.lanes.peekReady(), isBatchable(next) {
            guard bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1) <= maxBytes else { break }
            var runBytes = bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1)
            guard
                let run = state.lanes.takeRun(
                    maxRecords: maxEvents - batch.count,
                    admits: { record, _ in
                        guard self.isBatchable(record), runBytes + record.batchItemSize + 1 <= maxBytes else { return false }
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
    /// `batchLinger` for more ready lanes first, and takes them into the job).
    func deliverBatch(_ taken: [RelayRecord]) async -> [RelayRecord] {
        var records = taken
        if records.count < configuration.batchMaxEvents, (configuration.batchLinger > .zero) {
            try? await Task.sleep(for: configuration.batchLinger)
            state.withLock { state in
                guard state.mode == .running else { return }
                var bytes = JuneBatchBody.envelopeSize + records.reduce(0) { $0 + $1.batchItemSize + 1 } - 1
                let before = records.count
                topUp(&records, bytes: &bytes, state: &state)
                state.addToJob(records[before...])
            }
        }
        let (left, retryAfter) = await send(records)
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

    /// Posts `records` as one batch and handles the answer. A rejected batch is split in halves, sent one
    /// after the other (so a lane whose run straddles the halves keeps its order), down to single events:
    /// only the events June rejects are dead-lettered. Returns the records to retry later (after a
    /// retryable answer or a refusal), in order, with the `Retry-After` June gave. The halves of a split
    /// are not new attempts of their events (`june-relay.error.attempts` counts sends, not splits).
    private func send(_ batch: [RelayRecord], isSplit: Bool = false) async -> (left: [RelayRecord], retryAfter: Duration?) {
        var records = batch
        let started = ContinuousClock.now
        let unavailable = state.withLock { $0.unavailableTime(at: started) }
        var items: [JuneBatchItem] = []
        items.reserveCapacity(records.count)
        for index in records.indices {
            if records[index].firstAttempt == nil {
                records[index].firstAttempt = started
                records[index].unavailableTimeAtFirstAttempt = unavailable
            }
            if !isSplit { records[index].attempts += 1 }
            if let item = records[index].payload.batchItem { items.append(item) }
        }
        let outcome = await sender.send(batch: items)
        let now = ContinuousClock.now
        metrics.recordBatchRequest(outcome: PipelineMetrics.Outcome(outcome), duration: now - started, events: records.count)
        switch outcome {
        case .delivered:
            for item in items { metrics.recordDelivered(item.request.type) }
            noteTransition(state.withLock { $0.recordAccepted(at: now) })
            finish(records)
            return ([], nil)
        case .rejected(let status, let message):
            noteTransition(state.withLock { $0.recordAnswered(at: now) })
            guard records.count > 1 else {
                logger.warning("June rejected an event", metadata: records[0].logMetadata([PipelineLoggingKeys.statusCode: "\(status)"]))
                await deadLetterAndFinish(records[0], reason: .rejected, message: message, httpStatus: status)
                return ([], nil)
            }
            let middle = records.count / 2
            let first = await send(Array(records[..<middle]), isSplit: true)
            guard first.left.isEmpty else { return (first.left + records[middle...], first.retryAfter) }
            return await send(Array(records[middle...]), isSplit: true)
        case .refused(let status, let message):
            noteTransition(state.withLock { $0.recordRefused(status: status, at: now) }, message: message)
            return (records, nil)
        case .retryable(let status, let retryAfter, let message):
            noteTransition(state.withLock { $0.recordRetryableFailure(at: now) }, message: message)
            var left: [RelayRecord] = []
            for record in records {
                // A record whose budget is used up (while June accepts others) is dead-lettered; the rest
                // of its lane goes on after it, so the lane's order is kept.
                if !left.contains(where: { $0.lane == record.lane }), isBudgetExhausted(record, at: now) {
                    await deadLetterAndFinish(record, reason: .retriesExhausted, message: message, httpStatus: status)
                } else {
                    left.append(record)
                }
            }
            return (left, retryAfter)
        }
    }
}
