import Kafka

extension DeadLetterRedrive {
    /// What happened to one batch: per record index, the write error if it failed.
    struct BatchOutcome {
        var failures: [Int: KafkaError] = [:]
        var acknowledged = 0
        var acknowledgedByPartition: [Int32: Int] = [:]
        /// Dead letters without their value, left out.
        var withoutValue = 0
        var firstFailure: KafkaError? { failures.sorted { $0.key < $1.key }.first?.value }
    }

    /// Writes the batch with ``KafkaProducer/sendInLaneOrder(_:lane:)``: the records of a key in offset
    /// order (after a failure, the key's later records are not written), all keys concurrently. Records
    /// without a key form one lane per source partition.
    ///
    /// A dead letter written without its value (the dead-letter topic could not take the record's size)
    /// is not redriven: writing it back would produce a tombstone. It counts as handled and is reported in
    /// ``BatchOutcome/withoutValue``; its original is in the source topic at the offset its headers name.
    static func produce(_ batch: [KafkaMessage], to topic: String, targetPartitions: Set<Int32>, producer: KafkaProducer) async -> BatchOutcome {
        let sendable = batch.indices.filter { !isValueOmitted(batch[$0]) }
        let records = sendable.map { redrivenRecord(for: batch[$0], to: topic, targetPartitions: targetPartitions) }
        let sent = await producer.sendInLaneOrder(records) { index, _ in
            batch[sendable[index]].key.map(LaneID.key) ?? .partition(batch[sendable[index]].partition)
        }
        var results = [KafkaError?](repeating: nil, count: batch.count)
        for (position, index) in sendable.enumerated() { results[index] = sent[position] }
        var outcome = BatchOutcome()
        outcome.withoutValue = batch.count - sendable.count
        for (index, error) in results.enumerated() {
            if !sendable.contains(index) { continue }
            if let error {
                outcome.failures[index] = error
            } else {
                outcome.acknowledged += 1
                outcome.acknowledgedByPartition[batch[index].partition, default: 0] += 1
            }
        }
        return outcome
    }

    enum LaneID: Hashable {
        case key([UInt8])
        case partition(Int32)
    }
}
