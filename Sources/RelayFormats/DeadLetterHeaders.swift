/// The names of the headers june-relay adds to dead-lettered records, shared by the writer (the relay's
/// pipeline) and the readers (`dlq redrive`, tests). The meaning of each header is documented in
/// docs/design.md.
public enum DeadLetterHeaders {
    public static let prefix = "june-relay."
    public static let errorStage = "june-relay.error.stage"
    public static let errorReason = "june-relay.error.reason"
    public static let errorMessage = "june-relay.error.message"
    public static let errorHTTPStatus = "june-relay.error.http-status"
    public static let errorAttempts = "june-relay.error.attempts"
    public static let originalTopic = "june-relay.original.topic"
    public static let originalPartition = "june-relay.original.partition"
    public static let originalOffset = "june-relay.original.offset"
    public static let originalTimestamp = "june-relay.original.timestamp"
    public static let originalSize = "june-relay.original.size"
    public static let valueOmitted = "june-relay.dead-letter.value-omitted"
    public static let failedAt = "june-relay.failed-at"
    /// The messageId the relay used for the event (its own, or the `<topic>-<partition>-<offset>`
    /// fallback). The one header `dlq redrive` keeps, so a redriven event keeps its id.
    public static let originalMessageID = "june-relay.original.message-id"
}
