import Dispatch
import Foundation
import Logging

/// Metadata and offset administration: topic checks, watermarks, offsets by time, and reading and
/// resetting a group's committed offsets (for `june-relay offsets`).
///
/// Holds one consumer handle without a group (metadata, watermarks, offsets for times). Calls that need
/// a group id create a short-lived handle. Every blocking call runs on the admin's own queue.
public final class KafkaAdmin: Sendable {
    let client: RDKafkaClient
    let queue: DispatchQueue
    let logger: Logger
    let bootstrapServers: String
    let additionalProperties: [String: String]

    /// - Parameter additionalProperties: librdkafka consumer properties (TLS, SASL, …) for every handle.
    /// - Throws: ``KafkaError`` naming an invalid property.
    public init(bootstrapServers: String, additionalProperties: [String: String] = [:], logger: Logger) throws(KafkaError) {
        self.bootstrapServers = bootstrapServers
        self.additionalProperties = additionalProperties
        self.client = try RDKafkaClient.make(
            .consumer,
            properties: Self.properties(bootstrapServers: bootstrapServers, groupID: nil, additional: additionalProperties),
            context: RDKafkaCallbackContext(logger: logger)
        )
        self.logger = client.logger
        self.queue = DispatchQueue(label: "june-relay.kafka.admin.\(client.name)")
    }

    static func properties(bootstrapServers: String, groupID: String?, additional: [String: String]) -> [String: String] {
        var properties = additional
        properties["bootstrap.servers"] = bootstrapServers
        if let groupID { properties["group.id"] = groupID }
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "false"
        return properties
    }

    /// The topic's partition ids, sorted.
    /// - Throws: ``KafkaError/unknownTopic(_:)`` ("topic X does not exist") if it does not exist. The topic is
    ///   never auto-created.
    public func partitions(topic: String, timeout: Duration) async throws(KafkaError) -> [Int32] {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await queue.runBlocking { () throws(KafkaError) -> [Int32] in
            guard let partitions = try client.partitions(topic: topic, timeoutMilliseconds: timeoutMilliseconds) else {
                throw KafkaError.unknownTopic(topic)
            }
            return partitions
        }
    }

    /// Whether the topic exists (without creating it).
    public func topicExists(_ topic: String, timeout: Duration) async throws(KafkaError) -> Bool {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await queue.runBlocking { () throws(KafkaError) -> Bool in
            try client.partitions(topic: topic, timeoutMilliseconds: timeoutMilliseconds) != nil
        }
    }

    /// The cluster id the brokers report, or `nil` when none arrived in `timeout`.
    public func clusterID(timeout: Duration) async -> String? {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try? await queue.runBlocking { () throws(KafkaError) -> String? in client.clusterID(timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// The partition's low watermark (first offset still stored) and high watermark (next offset to be
    /// written), from the partition leader.
    public func watermarks(_ tp: KafkaTopicPartition, timeout: Duration) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let client = self.client
        let timeoutMilliseconds = timeout.clampedMilliseconds
        let pair = try await queue.runBlocking { () throws(KafkaError) -> [Int64] in
            let (low, high) = try client.queryWatermarks(tp, timeoutMilliseconds: timeoutMilliseconds)
            return [low, high]
        }
        return (pair[0], pair[1])
    }

    /// Records stored in `topic`: the sum of high minus low watermark over its partitions (each call
    /// gets `timeout`).
    public func storedRecords(in topic: String, timeout: Duration) async throws(KafkaError) -> Int64 {
        var total: Int64 = 0
        for partition in try await self.partitions(topic: topic, timeout: timeout) {
            let (low, high) = try await self.watermarks(KafkaTopicPartition(topic: topic, partition: partition), timeout: timeout)
            total += high - low
        }
        return total
    }

    /// The committed offsets (next offset to read) of `group` for the partitions; partitions without a
    /// committed offset are left out. Reads as a non-member (OffsetFetch); does not join the group.
    public func committedOffsets(
        group: String,
        partitions: [KafkaTopicPartition],
        timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        try await committedOffsetsWithMetadata(group: group, partitions: partitions, timeout: timeout).mapValues(\.offset)
    }

    /// ``committedOffsets(group:partitions:timeout:)`` with each offset's commit metadata string.
    public func committedOffsetsWithMetadata(
        group: String,
        partitions: [KafkaTopicPartition],
        timeout: Duration
    ) async throws(KafkaError) -> [KafkaTopicPartition: KafkaOffsetCommit] {
        let properties = Self.properties(bootstrapServers: bootstrapServers, groupID: group, additional: additionalProperties)
        let context = RDKafkaCallbackContext(logger: logger)
        let timeoutMilliseconds = timeout.clampedMilliseconds
        return try await queue.runBlocking { () throws(KafkaError) -> [KafkaTopicPartition: KafkaOffsetCommit] in
            let groupClient = try RDKafkaClient.make(.consumer, properties: properties, context: context)
            return try groupClient.committedWithMetadata(partitions, timeoutMilliseconds: timeoutMilliseconds)
        }
    }
}
