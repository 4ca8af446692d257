import CoreMetrics
import Logging
import JuneClient
import JuneTransform

// MARK: - Pipeline + single delivery

extension Pipeline {
    /// Sends one event to its per-event endpoint and acts on the work object's decision: a delivered
    /// event takes one lock round trip (the answer, the offset, the job's end and the worker's next job).
    func deliver(_ original: RelayRecord) async -> NextJobs {
        guard case .success(let request) = original.request else { return state.withLock { $0.jobEnded([original]) } }
        var record = original
        let started = ContinuousClock.now
        // The June-unavailable time at the first attempt is read with the first failure, under the lock
        // that records it.
        let isFirstAttempt = record.firstAttempt == nil
        if isFirstAttempt { record.firstAttempt = started }
        record.attempts += 1
        let outcome = await sender.send(request)
        let now = ContinuousClock.now
        metrics.recordRequest(request.type, outcome: PipelineMetrics.Outcome(outcome), duration: now - started)
        if configuration.delivery == .batch { metrics.batchEvents.record(1) }
        if case .delivered = outcome { metrics.recordDelivered(request.type) }
        let completion = answered { $0.completed(record, outcome: outcome, isFirstAttempt: isFirstAttempt, rtt: now - started, at: now) }
        noteTransition(completion.transition, message: outcome.message)
        switch completion.decision {
        case .done, .dropStale:
            return completion.jobs
        case .retry(let delay):
            startRetryTimer(for: completion.record, after: delay)
            return completion.jobs
        case .deadLetter(let reason):
            logDeadLetterCause(completion.record, reason: reason, status: outcome.status)
            return await deadLetterAndEnd(completion.record, reason: reason, message: outcome.message ?? "", httpStatus: outcome.status)
        }
    }

    /// The warning that goes with a dead letter June caused (a rejection, a spent retry budget).
    func logDeadLetterCause(_ record: RelayRecord, reason: DeadLetterReason, status: Int?) {
        switch reason {
        case .rejected:
            logger.warning("June rejected an event", metadata: record.logMetadata([PipelineLoggingKeys.statusCode: "\(status ?? 0)"]))
        case .retriesExhausted:
            logger.warning("Retry budget exhausted", metadata: record.logMetadata([PipelineLoggingKeys.retryAttempt: "\(record.attempts)"]))
        default:
            break
        }
    }
}

extension SendOutcome {
    /// The error message of a failed or refused request.
    var message: String? {
        switch self {
        case .delivered: nil
        case .rejected(_, let message), .refused(_, let message), .retryable(_, _, let message): message
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
