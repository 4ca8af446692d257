import CoreMetrics
import Kafka
import Logging

/// The one place where each kind of failure is logged and counted, so a failure has one message and
/// one metric wherever it happens.
enum PipelineEvents {
    static func commitFailed(_ error: any Error, during operation: String, metrics: PipelineMetrics, logger: Logger) {
        metrics.recordCommitFailure()
        logger.warning(
            "Offset commit failed",
            metadata: [PipelineLoggingKeys.error: "\(error)", "commit.operation": "\(operation)"]
        )
    }

    static func deadLetterWriteFailed(_ error: any Error, record: RelayRecord, attempt: Int, metrics: PipelineMetrics, logger: Logger) {
        metrics.deadLetterFailures.increment()
        logger.error(
            "Dead-letter write failed; retrying",
            metadata: record.logMetadata([PipelineLoggingKeys.error: "\(error)", PipelineLoggingKeys.retryAttempt: "\(attempt)"])
        )
    }
}

extension RelayRecord {
    func logMetadata(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            PipelineLoggingKeys.topic: "\(message.topic)",
            PipelineLoggingKeys.partition: "\(message.partition)",
            PipelineLoggingKeys.offset: "\(message.offset)",
        ]
        metadata.merge(extra) { _, new in new }
        return metadata
    }
}
