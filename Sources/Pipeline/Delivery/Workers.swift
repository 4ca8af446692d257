import CoreMetrics
import JuneTransform
import Logging

// MARK: - Pipeline + workers and retry timers

extension Pipeline {
    /// Runs `body` on the work object for an answer from June; the concurrency-limit gauge follows the
    /// limit when the answer moved it.
    func answered<Result: Sendable>(_ body: (inout RelayWork) -> Result) -> Result {
        let (result, limit, changed) = state.withLock { work in
            let before = work.limiter.limit
            let result = body(&work)
            return (result, work.limiter.limit, work.limiter.limit != before)
        }
        if changed { metrics.concurrencyLimit.record(limit) }
        return result
    }

    func startWorkers(_ jobs: [PipelineJob]) {
        for job in jobs { tasks.start(.worker(job)) }
    }

    /// Takes and starts every job that can run now (after a recovery).
    func startReadyJobs() {
        startWorkers(state.withLock { $0.takeJobs() })
    }

    func perform(_ work: PipelineWork) async {
        switch work {
        case .worker(let first):
            var job: PipelineJob? = first
            while let current = job {
                let jobs = await run(current)
                startWorkers(jobs.extra)
                job = jobs.next
            }
        case .retry(let ticket, let delay):
            do {
                try await Task.sleep(for: delay)
            } catch {
                return  // cancelled: the pipeline is shutting down
            }
            startWorkers(state.withLock { $0.retryDue(ticket) })
        }
    }

    /// Runs a job to its end (delivered, dead-lettered, deferred or given up); returns the worker's
    /// next jobs.
    func run(_ job: PipelineJob) async -> NextJobs {
        switch job {
        case .invalid(let record):
            guard case .failure(let error) = record.request else { return state.withLock { $0.jobEnded([record]) } }
            let reason: DeadLetterReason = error.reason == .invalidJSON ? .invalidJSON : .invalidEvent
            return await deadLetterAndEnd(record, reason: reason, message: error.message, httpStatus: nil)
        case .deliver(let record):
            return await deliver(record)
        case .batch(let records, let deadline):
            return await deliverBatch(records, deadline: deadline)
        }
    }

    /// Starts the retry timer of a lane's head run (`count` records, `head` first) the work object deferred.
    func startRetryTimer(for head: RelayRecord, after delay: Duration, count: Int = 1) {
        metrics.retries.increment(by: count)
        logger.debug(
            "June request will be retried",
            metadata: head.logMetadata([PipelineLoggingKeys.retryAttempt: "\(head.attempts)", PipelineLoggingKeys.retryDelay: "\(delay)"])
        )
        tasks.start(.retry(RetryTicket(head), after: delay))
    }
}
