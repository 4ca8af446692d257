import JuneClient
import JuneTransform
import Kafka
import RelayFormats

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
        /// Batch mode: its batch item (request and messageId), built once; nil in single mode and for a
        /// record that failed to transform.
        let batchItem: JuneBatchItem?
        /// Bytes of `batchItem` in a batch body (0 without one).
        let batchItemSize: Int

        init(
            lane: LaneKey,
            message: KafkaMessage,
            request: Result<JuneRequest, TransformError>,
            byteCost: Int,
            batchItem: JuneBatchItem?
        ) {
            self.lane = lane
            self.message = message
            self.request = request
            self.byteCost = byteCost
            self.batchItem = batchItem
            self.batchItemSize = batchItem?.encodedSize ?? 0
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
    /// Batch mode: the record was in a rejected batch that could not be split further within its job's
    /// deadline; it is sent in a batch of its own from now on, so the rejected events among its batch
    /// mates are found one request each, in parallel, whatever June's latency.
    var sendAlone = false
    /// Its next send continues the split of a rejected batch: not a new attempt.
    var continuesSplit = false

    init(
        lane: LaneKey,
        message: KafkaMessage,
        request: Result<JuneRequest, TransformError>,
        epoch: UInt64,
        byteCost: Int,
        batchItem: JuneBatchItem? = nil
    ) {
        self.init(
            payload: Payload(lane: lane, message: message, request: request, byteCost: byteCost, batchItem: batchItem),
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

    /// The messageId June sees in batch mode (and the `june-relay.original.message-id` of its dead
    /// letter): the event's own; else the id it had before a redrive (that header, which `dlq redrive`
    /// keeps); else `<topic>-<partition>-<offset>`. Stable across retries, replays and redrives.
    static func messageID(request: Result<JuneRequest, TransformError>, message: KafkaMessage) -> String {
        if case .success(let request) = request, let id = request.messageID { return id }
        if let header = message.headers.last(where: { $0.key == DeadLetterHeaders.originalMessageID }),
            let value = header.value, !value.isEmpty
        {
            return String(decoding: value, as: UTF8.self)
        }
        return "\(message.topic)-\(message.partition)-\(message.offset)"
    }

    /// ``messageID(request:message:)`` of this record (built once in batch mode).
    var messageID: String {
        payload.batchItem?.messageID ?? Self.messageID(request: payload.request, message: payload.message)
    }
}
