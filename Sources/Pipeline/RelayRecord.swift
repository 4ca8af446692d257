import JuneTransform
import Kafka

/// One consumed record on its way through the pipeline, with its delivery bookkeeping. ("Event" is the
/// RudderStack JSON inside it.)
struct RelayRecord: Sendable {
    var lane: LaneKey
    var message: KafkaMessage
    /// The June request, or the transform error that sends the record straight to the dead-letter topic.
    var request: Result<JuneRequest, TransformError>
    /// The partition's assignment epoch when the record was consumed; results of older epochs are discarded.
    var epoch: UInt64
    /// Bytes held for it: the record value plus the built request body.
    var byteCost: Int
    /// Batch mode: bytes of its batch item (0 in single mode).
    var batchItemSize = 0
    /// Delivery attempts made so far.
    var attempts = 0
    /// When the first attempt was made, and how much June-unavailable time (outages, refusals) had
    /// passed by then (read when that attempt failed): that time does not use up the retry budget.
    var firstAttempt: ContinuousClock.Instant?
    var unavailableTimeAtFirstAttempt: Duration = .zero

    var offset: Int64 { message.offset }
    var partition: KafkaTopicPartition { lane.partition }

    /// The messageId June sees in batch mode: the event's own, else `<topic>-<partition>-<offset>`
    /// (stable across retries, replays and redrives).
    var messageID: String {
        if case .success(let request) = request, let id = request.messageID { return id }
        return "\(message.topic)-\(message.partition)-\(message.offset)"
    }
}
