import JuneTransform
import Kafka

/// One consumed record on its way through the pipeline, with its delivery bookkeeping.
struct RelayEvent: Sendable {
    var lane: LaneKey
    var message: KafkaMessage
    /// The June request, or the transform error that sends the record straight to the dead-letter topic.
    var request: Result<JuneRequest, TransformError>
    /// The partition generation the record was consumed under; results of older generations are discarded.
    var generation: UInt64
    /// Delivery attempts made so far.
    var attempts = 0
    /// When the first attempt was made, and how much outage time had passed by then (outage time does
    /// not count against the retry budget, spec §3).
    var firstAttempt: ContinuousClock.Instant?
    var outageTimeAtFirstAttempt: Duration = .zero
}
