/// Metadata keys the pipeline puts on its log lines (Kafka's own keys are in `KafkaLoggingKeys`).
enum PipelineLoggingKeys {
    static let topic = "kafka.topic"
    static let topics = "kafka.topics"
    static let partition = "kafka.partition"
    static let offset = "kafka.offset"
    /// Several topic-partitions, rendered `topic[p],…`.
    static let partitions = "kafka.partitions"
    /// A number of partitions.
    static let partitionCount = "kafka.partition_count"
    static let error = "error"
    static let errorReason = "error.reason"
    static let statusCode = "http.response.status_code"
    static let retryAttempt = "retry.attempt"
    static let retryDelay = "retry.delay"
    static let count = "count"
    static let duration = "duration"
    static let hint = "hint"
}
