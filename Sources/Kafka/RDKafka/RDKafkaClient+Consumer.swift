import CLibrdKafka
import Logging

// Consumer-side calls. The blocking ones (`consumerPoll`, `commit`, `committed`, `close`,
// `queryWatermarks`, `offsetForTimestamp`) must be called from a dedicated queue, never the cooperative pool.
extension RDKafkaClient {
    func subscribe(topics: [String]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(capacity: topics.count)
        for topic in topics { list.add(KafkaTopicPartition(topic: topic, partition: RD_KAFKA_PARTITION_UA)) }
        markSubscribed()
        let code = try list.withListPointer { rd_kafka_subscribe(unsafeHandle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "subscribe to \(topics)") }
    }

    /// Blocks up to `timeoutMilliseconds` for the first message, then takes what is immediately available,
    /// up to `maxMessages`. Non-fatal consumer errors are logged and skipped; a fatal error throws.
    func consumerPoll(maxMessages: Int, timeoutMilliseconds: Int32) throws(KafkaError) -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        var wait = timeoutMilliseconds
        context.beginPollBatch()
        var rebalanced = false
        while messages.count < maxMessages, !rebalanced {
            let polled = rd_kafka_consumer_poll(unsafeHandle, wait)
            // A rebalance callback ran inside this poll: the batch ends here, and records fetched before it
            // for partitions it revoked are dropped (the partition's next owner, maybe this member again
            // under a new assignment, reads them from the committed offset). The record this poll returned
            // was fetched after the callback and stays.
            let rebalance = context.rebalanceInBatch
            if rebalance.ran {
                rebalanced = true
                if !rebalance.revoked.isEmpty {
                    messages.removeAll { rebalance.revoked.contains($0.topicPartition) }
                }
            }
            guard let message = polled else { break }
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let code = message.pointee.err
            if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                messages.append(KafkaMessage(copying: message))
            } else if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                continue
            } else if code == RD_KAFKA_RESP_ERR__FATAL {
                throw fatalErrorState() ?? KafkaError(rdKafka: code, context: "consume")
            } else {
                let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
                logger.warning(
                    "Kafka consumer error",
                    metadata: [
                        KafkaLoggingKeys.errorCode: "\(code.rawValue)",
                        KafkaLoggingKeys.errorReason: "\(String(cString: rd_kafka_err2str(code)))",
                        KafkaLoggingKeys.topic: "\(topic)",
                        KafkaLoggingKeys.partition: "\(message.pointee.partition)",
                    ]
                )
            }
        }
        if let fatal = context.fatalFailure { throw fatal }
        return messages
    }

    /// Commits the given offsets (next offset to read) and waits for the broker's answer, at most
    /// `timeoutMilliseconds` (then throws a retriable timeout; the commit may still land later).
    /// `rd_kafka_commit` itself has no timeout and waits forever for an unreachable coordinator, so the
    /// commit goes through a private result queue that is polled with the deadline. Blocking.
    func commit(_ offsets: [KafkaTopicPartition: Int64], timeoutMilliseconds: Int32) throws(KafkaError) {
        try commit(offsets.mapValues { KafkaOffsetCommit(offset: $0) }, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Commits offsets with their metadata strings; see ``commit(_:timeoutMilliseconds:)-(Int64)``.
    /// Throws the first partition's error when any partition failed.
    func commit(_ offsets: [KafkaTopicPartition: KafkaOffsetCommit], timeoutMilliseconds: Int32) throws(KafkaError) {
        let failed = try commitReportingPartitions(offsets, timeoutMilliseconds: timeoutMilliseconds)
        if let first = failed.sorted(by: { $0.key < $1.key }).first { throw first.value }
    }

    /// Commits offsets with their metadata strings and returns the partitions the broker refused, each
    /// with its error (empty: every partition committed). librdkafka 2.0.2 reports the broker's answer
    /// per partition in the result's partition list; when every partition failed it also sets the
    /// result's error to the last partition's. Throws only when the commit failed as a whole with no
    /// per-partition answer (no coordinator, a transport error, the timeout).
    func commitReportingPartitions(
        _ offsets: [KafkaTopicPartition: KafkaOffsetCommit],
        timeoutMilliseconds: Int32
    ) throws(KafkaError) -> [KafkaTopicPartition: KafkaError] {
        guard !offsets.isEmpty else { return [:] }
        let list = RDKafkaTopicPartitionList(offsets)
        guard let queue = rd_kafka_queue_new(unsafeHandle) else {
            throw KafkaError.state("cannot create a commit result queue")
        }
        // Destroying the queue before the answer came is safe: librdkafka drops the late result.
        defer { rd_kafka_queue_destroy(queue) }
        let code = try list.withListPointer { rd_kafka_commit_queue(unsafeHandle, $0, queue, nil, nil) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "commit") }
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds) else {
            throw KafkaError.timedOut("offset commit (no answer in \(timeoutMilliseconds) ms)")
        }
        defer { rd_kafka_event_destroy(event) }
        var failed: [KafkaTopicPartition: KafkaError] = [:]
        if let partitions = rd_kafka_event_topic_partition_list(event) {
            for entry in RDKafkaTopicPartitionList.entries(of: partitions) where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                failed[entry.topicPartition] = KafkaError(rdKafka: entry.error, context: "commit \(entry.topicPartition)")
            }
        }
        let error = rd_kafka_event_error(event)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR, failed.isEmpty { throw KafkaError(rdKafka: error, context: "commit") }
        return failed
    }

    /// The group's committed offsets; partitions without a committed offset are left out.
    func committed(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        try committedWithMetadata(partitions, timeoutMilliseconds: timeoutMilliseconds).mapValues(\.offset)
    }

    /// The group's committed offsets with their metadata; partitions without a committed offset are left out.
    func committedWithMetadata(
        _ partitions: [KafkaTopicPartition],
        timeoutMilliseconds: Int32
    ) throws(KafkaError) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        guard !partitions.isEmpty else { return [:] }
        let list = RDKafkaTopicPartitionList(partitions)
        let code = try list.withListPointer { rd_kafka_committed(unsafeHandle, $0, timeoutMilliseconds) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "fetch committed offsets") }
        if let error = list.firstError(operation: "fetch committed offset") { throw error }
        var result: [KafkaTopicPartition: KafkaOffsetCommit] = [:]
        for entry in list.entries where entry.offset >= 0 {
            result[entry.topicPartition] = KafkaOffsetCommit(offset: entry.offset, metadata: entry.metadata)
        }
        return result
    }

    /// Non-blocking.
    func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = try list.withListPointer { rd_kafka_pause_partitions(unsafeHandle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "pause") }
        if let error = list.firstError(operation: "pause") { throw error }
    }

    /// Non-blocking.
    func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        let code = try list.withListPointer { rd_kafka_resume_partitions(unsafeHandle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "resume") }
        if let error = list.firstError(operation: "resume") { throw error }
    }

    /// Non-blocking.
    func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let code = rd_kafka_assignment(unsafeHandle, &list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(rdKafka: code, context: "assignment") }
        return RDKafkaTopicPartitionList(adopting: list).entries.map(\.topicPartition).sorted()
    }

    /// Assigns partitions at explicit offsets (no group membership), replacing the assignment. Non-blocking.
    func assign(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets)
        let code = try list.withListPointer { rd_kafka_assign(unsafeHandle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "assign") }
    }

    /// The last known low/high watermarks (from fetch responses); non-blocking. `nil` when unknown.
    func cachedWatermarks(_ tp: KafkaTopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(unsafeHandle, tp.topic, tp.partition, &low, &high)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return (low, high)
    }

    /// Asks the partition leader for the watermarks. Blocking.
    func queryWatermarks(_ tp: KafkaTopicPartition, timeoutMilliseconds: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_query_watermark_offsets(unsafeHandle, tp.topic, tp.partition, &low, &high, timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "query watermarks of \(tp)") }
        return (low, high)
    }

    /// ListOffsets by timestamp. Blocking. `-1` means "no record at or after the timestamp" (or, on the
    /// mock cluster, always).
    func offsetForTimestamp(_ timestamp: Int64, in tp: KafkaTopicPartition, timeoutMilliseconds: Int32) throws(KafkaError) -> Int64 {
        let list = RDKafkaTopicPartitionList([tp], offset: timestamp)
        let code = try list.withListPointer { rd_kafka_offsets_for_times(unsafeHandle, $0, timeoutMilliseconds) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "offsets for times \(tp)") }
        if let error = list.firstError(operation: "offsets for times") { throw error }
        return list.entries.first?.offset ?? -1
    }

    /// Leaves the group (running the revoke callback) and stops fetching. Blocking.
    ///
    /// A subscribed consumer unsubscribes first. librdkafka 2.0.2 closes a `cooperative-sticky` member
    /// without a LeaveGroup: on close it revokes the assignment incrementally, and when that is done its
    /// terminate branch (`rd_kafka_cgrp_incr_unassign_done`, still so in 2.x for the classic protocol)
    /// unassigns and terminates without `rd_kafka_cgrp_leave_maybe`. The group then keeps the departed
    /// member until its `session.timeout.ms` (45 s by default), and whoever joins next (a new relay,
    /// `offsets reset`) waits that long. `rd_kafka_unsubscribe` takes the path that does leave
    /// (librdkafka 1.7.0 fixed it for unsubscribe, PR #3375); the close then serves the revoke callback
    /// as before and waits for the LeaveGroup answer. No upstream issue for the close path was found.
    func consumerClose() throws(KafkaError) {
        guard markConsumerClosed() else { return }
        if isSubscribed {
            let unsubscribed = rd_kafka_unsubscribe(unsafeHandle)
            if unsubscribed != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.debug("Kafka consumer unsubscribe before close failed", metadata: [KafkaLoggingKeys.errorCode: "\(unsubscribed.rawValue)"])
            }
        }
        let code = rd_kafka_consumer_close(unsafeHandle)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "consumer close") }
    }
}
