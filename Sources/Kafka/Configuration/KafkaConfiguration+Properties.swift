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

    /// How long after an offset commit timed out librdkafka may still make it: `session.timeout.ms` +
    /// 3 × `socket.timeout.ms` (225 s with librdkafka's defaults).
    ///
    /// librdkafka 2.0.2 does not cancel a commit whose caller stopped waiting. One that finds no
    /// coordinator is deferred for up to `session.timeout.ms` and sent when the coordinator is back; a
    /// request waiting for a connection or an answer may take `socket.timeout.ms`, and is tried up to 3
    /// times. So it can land after a newer commit of the same partition and lower the group's offset
    /// again: a caller re-commits its latest offsets until this window has passed.
    public var lateCommitWindow: Duration {
        let properties = properties()
        func milliseconds(_ name: String, default value: Int64) -> Int64 {
            properties[name].flatMap { Int64($0) } ?? value
        }
        let attempts: Int64 = 3  // RD_KAFKA_REQUEST_DEFAULT_RETRIES (2) + 1
        return .milliseconds(milliseconds("session.timeout.ms", default: 45_000) + attempts * milliseconds("socket.timeout.ms", default: 60_000))
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
