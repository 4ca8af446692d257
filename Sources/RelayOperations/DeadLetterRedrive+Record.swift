import Kafka
import RelayFormats

extension DeadLetterRedrive {
    /// The prefix of the headers the relay adds to dead-lettered records (docs/design.md, "Dead letters").
    public static let relayHeaderPrefix = DeadLetterHeaders.prefix

    /// Whether the dead letter was written without its value (`june-relay.dead-letter.value-omitted`).
    static func isValueOmitted(_ message: KafkaMessage) -> Bool {
        headerString(message.headers, DeadLetterHeaders.valueOmitted) == "true"
    }

    /// The record to write back: same key and value, the original headers without the `june-relay.*`
    /// headers (order kept) except `june-relay.original.message-id`, a new timestamp. The relay takes
    /// that header as the event's messageId when the event has none of its own, so June sees the id it
    /// saw before the redrive (a fallback built from the new offset would differ).
    ///
    /// The partition is the original one when the record is redriven to the topic it came from
    /// (`june-relay.original.topic` is `to` and `june-relay.original.partition` is a partition of it), so a
    /// user's events stay in one partition whatever partitioner wrote them first; otherwise the
    /// producer's partitioner chooses by key.
    static func redrivenRecord(for message: KafkaMessage, to topic: String, targetPartitions: Set<Int32>) -> KafkaProducerRecord {
        var partition: Int32?
        if headerString(message.headers, DeadLetterHeaders.originalTopic) == topic,
            let text = headerString(message.headers, DeadLetterHeaders.originalPartition),
            let original = Int32(text),
            targetPartitions.contains(original)
        {
            partition = original
        }
        return KafkaProducerRecord(
            topic: topic,
            partition: partition,
            key: message.key,
            value: message.value,
            headers: message.headers.filter { !$0.key.hasPrefix(relayHeaderPrefix) || $0.key == DeadLetterHeaders.originalMessageID }
        )
    }

    static func headerString(_ headers: [KafkaHeader], _ key: String) -> String? {
        guard let value = headers.last(where: { $0.key == key })?.value else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
}
