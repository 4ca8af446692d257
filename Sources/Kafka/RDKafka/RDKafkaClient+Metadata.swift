import CLibrdKafka

extension RDKafkaClient {
    /// The topic's partition ids, sorted, or `nil` when the broker says the topic does not exist.
    /// Blocking. Does not create the topic (consumer handles send `AllowAutoTopicCreation=false`
    /// unless `allow.auto.create.topics=true`).
    func partitions(topic: String, timeoutMilliseconds: Int32) throws(KafkaError) -> [Int32]? {
        guard let topicHandle = rd_kafka_topic_new(withUnsafeHandleUnchecked, topic, nil) else {
            throw KafkaError(rdKafka: rd_kafka_last_error(), context: "topic handle for \(topic)")
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(withUnsafeHandleUnchecked, 0, topicHandle, &metadata, timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(rdKafka: code, context: "metadata for topic \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            switch entry.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                return (0..<Int(entry.partition_cnt)).map { entry.partitions[$0].id }.sorted()
            case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
                return nil
            default:
                throw KafkaError(rdKafka: entry.err, context: "metadata for topic \(topic)")
            }
        }
        return nil
    }
}
