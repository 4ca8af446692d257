import Foundation
import Logging

extension KafkaAdmin {
    /// The first offset whose record timestamp is at or after `ms` (milliseconds since the epoch), or the
    /// high watermark when there is none.
    ///
    /// Asks the broker first (ListOffsets by timestamp). If it answers "end" (-1) although the partition
    /// holds records, which the librdkafka mock cluster always does, binary-searches the partition by
    /// fetching single records and reading their timestamps (this assumes timestamps grow with offsets,
    /// as with log-append time or well-behaved producers).
    public func offset(forTimestamp ms: Int64, in tp: KafkaTopicPartition, timeout: Duration) async throws(KafkaError) -> Int64 {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        let (direct, low, high) = try await queue.runBlocking { () throws(KafkaError) -> OffsetLookup in
            let direct = try client.offsetForTimestamp(ms, in: tp, timeoutMilliseconds: timeoutMilliseconds)
            let (low, high) = try client.queryWatermarks(tp, timeoutMilliseconds: timeoutMilliseconds)
            return OffsetLookup(direct: direct, low: low, high: high)
        }.tuple
        if direct >= 0 { return direct }
        if low >= high { return high }

        let properties = Self.properties(
            bootstrapServers: bootstrapServers,
            groupID: "june-relay-offset-lookup-\(UUID().uuidString)",
            additional: additionalProperties
        )
        let context = RDKafkaCallbackContext(logger: logger)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let logger = self.logger
        return try await queue.runBlocking { () throws(KafkaError) -> Int64 in
            // A handle with a throwaway group id (needed for assign + poll); it never joins or commits.
            let probe = try RDKafkaClient.make(.consumer, properties: properties, context: context)
            func record(atOrAfter offset: Int64) throws(KafkaError) -> KafkaMessage {
                try probe.assign([tp: offset])
                while ContinuousClock.now < deadline {
                    let remaining = ContinuousClock.now.duration(to: deadline).clampedMilliseconds
                    for message in try probe.consumerPoll(maxMessages: 1, timeoutMilliseconds: min(remaining, 500))
                    where message.topicPartition == tp && message.offset >= offset {
                        return message
                    }
                }
                throw KafkaError.timedOut("reading \(tp) at offset \(offset) to find a timestamp")
            }
            // Real brokers answer -1 when no record is that new: one probe of the last record confirms it.
            if let last = try record(atOrAfter: high - 1).timestamp, last < ms {
                return high
            }
            var lowerBound = low
            var upperBound = high
            while lowerBound < upperBound {
                let middle = lowerBound + (upperBound - lowerBound) / 2
                let found = try record(atOrAfter: middle)
                if let timestamp = found.timestamp, timestamp >= ms {
                    upperBound = middle
                } else {
                    lowerBound = min(found.offset + 1, upperBound)
                }
            }
            logger.debug(
                "Kafka offset for timestamp found by search",
                metadata: [KafkaLoggingKeys.partitions: "\(tp)", KafkaLoggingKeys.offset: "\(lowerBound)"]
            )
            return lowerBound
        }
    }
}

private struct OffsetLookup: Sendable {
    var direct: Int64
    var low: Int64
    var high: Int64
    var tuple: (Int64, Int64, Int64) { (direct, low, high) }
}
