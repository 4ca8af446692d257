import CoreMetrics
import Foundation
import Kafka
import Logging

// MARK: - Pipeline + dead letters

extension Pipeline {
    /// Whether the record's partition is still assigned to this member under the record's epoch.
    func isOwned(_ record: RelayRecord) -> Bool {
        state.withLock { $0.owns(record) }
    }

    /// Dead-letters the record as the whole of its job, then ends the job; returns the worker's next jobs.
    func deadLetterAndEnd(_ record: RelayRecord, reason: DeadLetterReason, message: String, httpStatus: Int?) async -> NextJobs {
        let written = await deadLetter(record, reason: reason, message: message, httpStatus: httpStatus)
        return state.withLock { work in
            work.deadLetterEnded(record, reason: reason, written: written)
            return work.jobEnded([record])
        }
    }

    /// Dead-letters one record of a running job (a batch); only an acknowledged write makes its offset done.
    func deadLetterInJob(_ record: RelayRecord, reason: DeadLetterReason, message: String, httpStatus: Int?) async {
        let written = await deadLetter(record, reason: reason, message: message, httpStatus: httpStatus)
        state.withLock { $0.deadLetterEnded(record, reason: reason, written: written) }
    }

    /// Writes the record to the dead-letter topic and waits for the broker's acknowledgement, retrying
    /// until it is acknowledged: the source offset is never done before that. A record the topic can
    /// never take (over a size limit, invalid) is written without its value, then without key and
    /// original headers; a fatal producer is replaced. Gives up only when the partition was revoked (the
    /// new owner handles the record) or at shutdown. A record of a partition this member no longer owns
    /// is never dead-lettered (a job that outlived a revoke's drain): the new owner decides.
    func deadLetter(_ record: RelayRecord, reason: DeadLetterReason, message: String, httpStatus: Int?) async -> Bool {
        var content = DeadLetterRecord.Content.full
        var failures = 0
        while true {
            guard isOwned(record) else { return false }
            let deadLetter = DeadLetterRecord.make(
                for: record.message,
                topic: configuration.deadLetterTopic,
                reason: reason,
                errorMessage: message,
                httpStatus: httpStatus,
                attempts: max(record.attempts, 1),
                messageID: record.messageID,
                content: content
            )
            let (_, incarnation) = deadLetters.current
            do {
                _ = try await deadLetters.send(deadLetter)
                metrics.recordDeadLettered(reason)
                if content != .full { metrics.valuesOmitted.increment() }
                logger.debug("Record dead-lettered", metadata: record.logMetadata([PipelineLoggingKeys.errorReason: "\(reason.rawValue)"]))
                return true
            } catch {
                failures += 1
                if error.isRecordRejected, content < .headersOnly {
                    content = content == .full ? .withoutValue : .headersOnly
                    logger.warning(
                        "The dead-letter topic cannot take this record; writing it without its value",
                        metadata: record.logMetadata([
                            PipelineLoggingKeys.error: "\(error)",
                            "record.size": "\(record.message.value?.count ?? 0)",
                        ])
                    )
                    continue
                }
                PipelineEvents.deadLetterWriteFailed(error, record: record, attempt: failures, metrics: metrics, logger: logger)
                if error.isFatal {
                    do {
                        try await deadLetters.replace(incarnation, logger: logger)
                        metrics.producerReplacements.increment()
                    } catch {
                        logger.critical("Dead-letter producer cannot be replaced: stopping", metadata: [PipelineLoggingKeys.error: "\(error)"])
                        fail(error)
                        return false
                    }
                }
                if state.withLock({ $0.isStopping }) { return false }
                do {
                    try await Task.sleep(for: .milliseconds(min(30_000, 250 << min(failures, 7))))
                } catch {
                    return false
                }
            }
        }
    }
}
