// The only place where typed settings become librdkafka property names.

extension KafkaConsumerConfiguration {
    /// The librdkafka properties for this configuration: typed settings, then `additionalProperties`,
    /// then the properties the module relies on (explicit commits only, no EOF events).
    public func properties() -> [String: String] {
        var properties: [String: String] = [
            "bootstrap.servers": bootstrapServers,
            "group.id": groupID,
            "auto.offset.reset": autoOffsetReset.rawValue,
            "partition.assignment.strategy": assignmentStrategy,
            "session.timeout.ms": sessionTimeout.millisecondsProperty,
            "heartbeat.interval.ms": heartbeatInterval.millisecondsProperty,
            // librdkafka's consumer default is already no auto-creation; setting it explicitly makes
            // 2.0.2 warn on every metadata request to brokers that report old API versions (the mock).
            // Bound the prefetch queue (default 64 MiB) so memory stays flat whatever the backlog.
            "queued.max.messages.kbytes": String(maxPrefetchKilobytes),
            "queued.min.messages": String(minPrefetchMessagesPerPartition),
        ]
        if statisticsHandler != nil {
            properties["statistics.interval.ms"] = statisticsInterval.millisecondsProperty
        }
        properties.merge(additionalProperties) { _, additional in additional }
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "false"
        return properties
    }

    /// How long after an offset commit timed out librdkafka may still send it. 2.0.2 keeps a commit
    /// that found no coordinator for up to `session.timeout.ms` and sends it when the coordinator is
    /// back, possibly after a newer commit of the same partition succeeded; a request already sent
    /// waits up to `socket.timeout.ms` for its answer and is retried. A late commit lowers the group's
    /// offset again, so a caller re-commits its latest offsets until this window has passed.
    public var lateCommitWindow: Duration {
        let properties = properties()
        func milliseconds(_ name: String, default value: Int64) -> Int64 {
            properties[name].flatMap { Int64($0) } ?? value
        }
        return .milliseconds(milliseconds("session.timeout.ms", default: 45_000) + milliseconds("socket.timeout.ms", default: 60_000))
    }
}

extension KafkaProducerConfiguration {
    /// The librdkafka properties for this configuration: typed settings, then `additionalProperties`.
    public func properties() -> [String: String] {
        var properties: [String: String] = [
            "bootstrap.servers": bootstrapServers,
            "enable.idempotence": idempotence ? "true" : "false",
            "acks": "all",
            "message.timeout.ms": messageTimeout.millisecondsProperty,
            "linger.ms": linger.millisecondsProperty,
        ]
        properties.merge(additionalProperties) { _, additional in additional }
        return properties
    }
}
