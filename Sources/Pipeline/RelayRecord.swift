import JuneTransform
import Kafka

/// One consumed record on its way through the pipeline, with its delivery bookkeeping. ("Event" is the
/// RudderStack JSON inside it.)
///
/// What never changes after the transform lives in one shared ``Payload`` object, so the copies a record
/// makes on its way (lane queue, job, batch, retry) retain one reference instead of every field; only
/// the delivery bookkeeping is per copy.
struct RelayRecord: Sendable {
    /// The immutable part of a record.
    final class Payload: Sendable {
        let lane: LaneKey
        let message: KafkaMessage
        /// The June request, or the transform error that sends the record straight to the dead-letter topic.
        let request: Result<JuneRequest, TransformError>
        /// Bytes held for it: the record value plus the built request body.
        let byteCost: Int
        /// Batch mode: bytes of its batch item (0 in single mode).
        let batchItemSize: Int

        init(
            lane: LaneKey,
            message: KafkaMessage,
            request: Result<JuneRequest, TransformError>,
            byteCost: Int,
            batchItemSize: Int
        ) {
            self.lane = lane
            self.message = message
            self.request = request
            self.byteCost = byteCost
            self.batchItemSize = batchItemSize
        }
    }

    let payload: Payload
    /// The partition's assignment epoch when the record was consumed; results of older epochs are discarded.
    let epoch: UInt64
    /// Delivery attempts made so far.
    var attempts = 0
    /// When the first attempt was made, and how much June-unavailable time (outages, refusals) had
    /// passed by then (read when that attempt failed): that time does not use up the retry budget.
    var firstAttempt: ContinuousClock.Instant?
    var unavailableTimeAtFirstAttempt: Duration = .zero

    init(
        lane: LaneKey,
        message: KafkaMessage,
        request: Result<JuneRequest, TransformError>,
        epoch: UInt64,
        byteCost: Int,
        batchItemSize: Int = 0
    ) {
        self.init(
            payload: Payload(lane: lane, message: message, request: request, byteCost: byteCost, batchItemSize: batchItemSize),
            epoch: epoch
        )
    }

    init(payload: Payload, epoch: UInt64) {
        self.payload = payload
        self.epoch = epoch
    }

    var lane: LaneKey { payload.lane }
    var message: KafkaMessage { payload.message }
    var request: Result<JuneRequest, TransformError> { payload.request }
    var byteCost: Int { payload.byteCost }
    var batchItemSize: Int { payload.batchItemSize }
    var offset: Int64 { payload.message.offset }
    var partition: KafkaTopicPartition { payload.lane.partition }

    /// The messageId June sees in batch mode: the event's own, else `<topic>-<partition>-<offset>`
    /// (stable across retries, replays and redrives).
    var messageID: String { Self.messageID(request: payload.request, message: payload.message) }

    static func messageID(request: Result<JuneRequest, TransformError>, message: KafkaMessage) -> String {
        if case .success(let request) = request, let id = request.messageID { return id }
        return "\(message.topic)-\(message.partition)-\(message.offset)"
    }
}
