import CLibrdKafka

extension KafkaError {
    /// A `rd_kafka_resp_err_t` with librdkafka's description, prefixed by what was being done.
    init(rdKafka code: rd_kafka_resp_err_t, context: String) {
        let description = String(cString: rd_kafka_err2str(code))
        self.init(
            code: Code(rdKafka: code),
            message: "\(context): \(description)",
            isRetriable: KafkaError.retriableCodes.contains(Code(rdKafka: code)),
            isFatal: code == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// Takes the information out of an `rd_kafka_error_t` and destroys it.
    init(consuming error: OpaquePointer, context: String) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rdKafka: rd_kafka_error_code(error)),
            message: "\(context): \(String(cString: rd_kafka_error_string(error)))",
            isRetriable: rd_kafka_error_is_retriable(error) != 0
                || KafkaError.retriableCodes.contains(Code(rdKafka: rd_kafka_error_code(error))),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    /// Codes where trying again later may succeed (transient broker or network conditions).
    static let retriableCodes: Set<Code> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ].reduce(into: Set<Code>()) { $0.insert(Code(rdKafka: $1)) }
}

extension KafkaError.Code {
    /// The code of a `rd_kafka_resp_err_t`.
    init(rdKafka code: rd_kafka_resp_err_t) {
        self.init(rawValue: code.rawValue)
    }
}
