import CLibrdKafka

extension KafkaProducer {
    /// Puts the producer into librdkafka's fatal state (`rd_kafka_test_fatal_error`), as an idempotence
    /// sequence error would. For tests of the owner's recovery.
    public func injectFatalErrorForTesting(reason: String = "injected by test") {
        _ = rd_kafka_test_fatal_error(client.unsafeHandle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
    }
}
