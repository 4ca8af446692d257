import JuneClient
import JuneTransform
import Kafka

/// Turns a consumed message into the immutable part of a ``RelayRecord``: the transform, the lane key
/// and, in batch mode, the batch item, all done once, outside the work object's lock.
struct RecordIntake: Sendable {
    let transformer: JuneTransformer
    let delivery: PipelineConfiguration.Delivery

    func payload(for message: KafkaMessage) -> RelayRecord.Payload {
        let result: Result<JuneRequest, TransformError>
        if let value = message.value {
            result = transformer.transform(value)
        } else {
            result = .failure(TransformError(reason: .invalidJSON, message: "Record has no value (tombstone)"))
        }
        let kind: LaneKey.Kind
        var cost = message.value?.count ?? 0
        var batchItem: JuneBatchItem?
        switch result {
        case .success(let request):
            cost += request.body.count
            if let key = request.orderingKey {
                kind = .key(key)
            } else if let key = message.key {
                kind = .key(String(decoding: key, as: UTF8.self))
            } else {
                kind = .partition
            }
            if delivery == .batch {
                batchItem = JuneBatchItem(request: request, messageID: RelayRecord.messageID(request: result, message: message))
            }
        case .failure:
            kind = .invalidRecord(offset: message.offset)
        }
        return RelayRecord.Payload(
            lane: LaneKey(partition: message.topicPartition, kind: kind),
            message: message,
            request: result,
            byteCost: cost,
            batchItem: batchItem
        )
    }
}
