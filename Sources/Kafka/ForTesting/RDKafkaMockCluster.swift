import CLibrdKafka

/// Owns an `rd_kafka_mock_cluster_t` and the client handle hosting it; destroys the cluster, then the
/// handle, in that order.
///
/// `@unchecked Sendable`: the mock cluster runs on its own thread; its `rd_kafka_mock_*` setters post
/// operations to that thread under a lock, so they may be called from any thread.
final class RDKafkaMockCluster: @unchecked Sendable {
    private let host: RDKafkaClient
    private let cluster: OpaquePointer
    let bootstrapServers: String

    init(brokers: Int, context: RDKafkaCallbackContext) throws(KafkaError) {
        // A producer handle without bootstrap servers: it only hosts the cluster.
        host = try RDKafkaClient.make(.producer, properties: ["log_level": "4"], context: context)
        let created = rd_kafka_mock_cluster_new(host.unsafeHandle, Int32(clamping: brokers))
        guard let created else { throw KafkaError(code: .fail, message: "cannot create the mock Kafka cluster") }
        cluster = created
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(created))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(cluster, name, Int32(clamping: partitions), Int32(clamping: replicationFactor))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "create mock topic \(name)") }
    }

    func pushRequestErrors(apiKey: Int16, errors: [KafkaError.Code]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    func clearRequestErrors(apiKey: Int16) {
        rd_kafka_mock_clear_request_errors(cluster, apiKey)
    }

    func setBrokerDown(_ id: Int32) throws(KafkaError) {
        let code = rd_kafka_mock_broker_set_down(cluster, id)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "set broker \(id) down") }
    }

    func setBrokerUp(_ id: Int32) throws(KafkaError) {
        let code = rd_kafka_mock_broker_set_up(cluster, id)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "set broker \(id) up") }
    }
}
