import CLibrdKafka
import Logging

/// The rebalance callback of every consumer handle. Runs on the thread inside `rd_kafka_consumer_poll`
/// or `rd_kafka_consumer_close`.
///
/// - Assign: (incrementally) assign first, then tell the observer.
/// - Revoke / lost: tell the observer first (so it can still commit), then (incrementally) unassign.
/// - Any other error: unassign everything.
let rdKafkaRebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
    ) -> Void = { handle, code, partitions, opaque in
        guard let handle, let opaque else { return }
        let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        let topicPartitions = partitions.map { RDKafkaTopicPartitionList.entries(of: $0).map(\.topicPartition) } ?? []
        var logger = context.logger
        logger[metadataKey: KafkaLoggingKeys.client] = "\(String(cString: rd_kafka_name(handle)))"
        logger[metadataKey: KafkaLoggingKeys.rebalanceProtocol] = "\(cooperative ? "COOPERATIVE" : "EAGER")"
        logger[metadataKey: KafkaLoggingKeys.partitions] = "\(topicPartitions.map(\.description).joined(separator: ", "))"

        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.debug("Kafka partitions assigned")
            rdKafkaApplyAssignment(handle, partitions, assign: true, cooperative: cooperative, logger: logger)
            context.notifyRebalance(.assigned(topicPartitions))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            if lost { logger.warning("Kafka partitions lost") } else { logger.debug("Kafka partitions revoked") }
            context.notifyRebalance(.revoked(topicPartitions, lost: lost))
            rdKafkaApplyAssignment(handle, partitions, assign: false, cooperative: cooperative, logger: logger)
        default:
            logger.error(
                "Kafka rebalance failed",
                metadata: [KafkaLoggingKeys.errorReason: "\(String(cString: rd_kafka_err2str(code)))"]
            )
            let assigned = rdKafkaCurrentAssignment(handle)
            if !assigned.isEmpty {
                context.notifyRebalance(.revoked(assigned, lost: true))
            }
            if cooperative {
                // Drop the whole assignment: incremental_unassign of the current set.
                var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
                if rd_kafka_assignment(handle, &current) == RD_KAFKA_RESP_ERR_NO_ERROR, let current {
                    rdKafkaApplyAssignment(handle, current, assign: false, cooperative: true, logger: logger)
                    rd_kafka_topic_partition_list_destroy(current)
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
        }
    }

private func rdKafkaApplyAssignment(
    _ handle: OpaquePointer,
    _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    assign: Bool,
    cooperative: Bool,
    logger: Logger
) {
    if cooperative {
        guard let partitions else { return }
        let error = assign ? rd_kafka_incremental_assign(handle, partitions) : rd_kafka_incremental_unassign(handle, partitions)
        if let error {
            let kafkaError = KafkaError(consuming: error, context: assign ? "incremental assign" : "incremental unassign")
            logger.error("Kafka assignment change failed", metadata: [KafkaLoggingKeys.errorReason: "\(kafkaError)"])
        }
    } else {
        let code = rd_kafka_assign(handle, assign ? partitions : nil)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let kafkaError = KafkaError(rdKafka: code, context: assign ? "assign" : "unassign")
            logger.error("Kafka assignment change failed", metadata: [KafkaLoggingKeys.errorReason: "\(kafkaError)"])
        }
    }
}

func rdKafkaCurrentAssignment(_ handle: OpaquePointer) -> [KafkaTopicPartition] {
    var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
    return RDKafkaTopicPartitionList(adopting: list).entries.map(\.topicPartition)
}
