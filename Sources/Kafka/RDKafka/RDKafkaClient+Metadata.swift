import CLibrdKafka

extension RDKafkaClient {
    /// The topic's partition ids, sorted, or `nil` when the cluster does not have the topic. Blocking.
    ///
    /// Asks for the metadata of ALL topics and looks for this one: asking for the topic by name (a
    /// topic handle) makes the librdkafka 2.0.2 mock cluster auto-create it, whatever
    /// `AllowAutoTopicCreation` says, and would do the same on brokers with `auto.create.topics.enable`
    /// and old protocol versions.
    func partitions(topic: String, timeoutMilliseconds: Int32) throws(KafkaError) -> [Int32]? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(unsafeHandle, 1, nil, &metadata, timeoutMilliseconds)
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

extension RDKafkaClient {
    /// The cluster id the brokers report in their metadata, or `nil` when none arrived within the
    /// timeout (or the brokers are too old to report one). Blocking.
    func clusterID(timeoutMilliseconds: Int32) -> String? {
        guard let id = rd_kafka_clusterid(unsafeHandle, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_mem_free(unsafeHandle, id) }
        return String(cString: id)
    }
}
