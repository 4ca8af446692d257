import JuneClient

// MARK: - RelayWork + job choice

extension RelayWork {
    /// Takes jobs from ready lanes while slots are free.
    mutating func takeJobs(at now: ContinuousClock.Instant = .now) -> [PipelineJob] {
        var jobs: [PipelineJob] = []
        while hasFreeSlot, let job = takeJob(at: now) {
            jobs.append(job)
        }
        return jobs
    }

    /// Takes one job, if a lane is ready, and its slot. In single mode, `preferring` (the lane a worker
    /// just finished a record of) goes first when it has more: see ``LaneTable/takeHead(of:)``.
    mutating func takeJob(preferring lane: LaneKey? = nil, at now: ContinuousClock.Instant = .now) -> PipelineJob? {
        guard hasFreeSlot else { return nil }
        let job: PipelineJob?
        switch configuration.delivery {
        case .single:
            let run = lane.flatMap { lanes.takeHead(of: $0) }.map { [$0] } ?? lanes.takeRun(maxRecords: 1)
            job = run.map { Self.singleJob($0[0]) }
        case .batch:
            job = takeBatchJob(at: now)
        }
        if let job { startJob(job.records, at: now) }
        return job
    }

    /// A job ended (its records delivered, dead-lettered, deferred or given up): frees its slot. Returns
    /// the worker's next job (in single mode the same lane's next record first, unless June is rejecting
    /// events with none accepted since: then the next job comes from another user, so a rejection storm
    /// shows across users within its first window) and jobs for slots the concurrency limit gained
    /// meanwhile, which get workers of their own.
    mutating func jobEnded(_ records: [RelayRecord], at now: ContinuousClock.Instant = .now) -> NextJobs {
        endJob(records)
        let lane = records.count == 1 && health.rejectionsInARow == 0 ? records[0].lane : nil
        let next = takeJob(preferring: lane, at: now)
        return NextJobs(next: next, extra: next == nil ? [] : takeJobs(at: now))
    }

    /// A probe while June rejects every event: one real event (the head of a ready lane) as a job
    /// outside the in-flight limit (which is 0 meanwhile). Nil when no lane is ready.
    mutating func takeProbeJob(at now: ContinuousClock.Instant) -> PipelineJob? {
        guard mode.isRejectingAll, let run = lanes.takeRun(maxRecords: 1) else { return nil }
        let record = run[0]
        let job: PipelineJob =
            configuration.delivery == .batch && isBatchable(record)
            ? .batch(run, deadline: now + configuration.requestTimeout) : Self.singleJob(record)
        startJob(job.records, at: now)
        return job
    }

    private static func singleJob(_ record: RelayRecord) -> PipelineJob {
        if case .failure = record.request { return .invalid(record) }
        return .deliver(record)
    }

    // MARK: Batches

    /// Takes a batch job (with a free slot): runs of consecutive records of ready lanes, in lane order,
    /// within `batchMaxEvents` items and `batchMaxBytes` of body. A ready head that cannot travel in a
    /// batch (a record that failed to transform, or an item over the item limit, which goes alone to its
    /// per-event endpoint) becomes a job of its own, in its lane's order.
    private mutating func takeBatchJob(at now: ContinuousClock.Instant) -> PipelineJob? {
        guard let head = lanes.peekReady() else { return nil }
        guard isBatchable(head) else {
            return lanes.takeRun(maxRecords: 1).map { Self.singleJob($0[0]) }
        }
        let deadline = now + configuration.requestTimeout
        if head.sendAlone {
            return lanes.takeRun(maxRecords: 1).map { .batch($0, deadline: deadline) }
        }
        var batch: [RelayRecord] = []
        var bytes = JuneBatchBody.envelopeSize
        topUp(&batch, bytes: &bytes)
        return batch.isEmpty ? nil : .batch(batch, deadline: deadline)
    }

    /// A lingering batch takes runs of lanes that became ready meanwhile, while they fit (only while
    /// running); they join the job.
    mutating func topUpLingering(_ records: inout [RelayRecord]) {
        guard mode == .running else { return }
        var bytes = JuneBatchBody.envelopeSize + records.reduce(0) { $0 + $1.batchItemSize + 1 } - 1
        let before = records.count
        topUp(&records, bytes: &bytes)
        addToJob(records[before...])
    }

    /// Adds runs of ready lanes to `batch` while they fit.
    private mutating func topUp(_ batch: inout [RelayRecord], bytes: inout Int) {
        let maxEvents = configuration.batchMaxEvents
        let maxBytes = configuration.batchMaxBytes
        let itemLimit = configuration.batchItemLimit
        while batch.count < maxEvents, let next = lanes.peekReady(), Self.isBatchable(next, itemLimit: itemLimit), !next.sendAlone {
            guard bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1) <= maxBytes else { break }
            var runBytes = bytes + next.batchItemSize + (batch.isEmpty ? 0 : 1)
            guard
                let run = lanes.takeRun(
                    maxRecords: maxEvents - batch.count,
                    admits: { record, _ in
                        guard Self.isBatchable(record, itemLimit: itemLimit), !record.sendAlone, runBytes + record.batchItemSize + 1 <= maxBytes
                        else { return false }
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
        Self.isBatchable(record, itemLimit: configuration.batchItemLimit)
    }

    private static func isBatchable(_ record: RelayRecord, itemLimit: Int) -> Bool {
        record.payload.batchItem != nil && record.batchItemSize <= itemLimit
    }
}
