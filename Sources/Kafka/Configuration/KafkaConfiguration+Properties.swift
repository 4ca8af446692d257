// The only place where typed settings become librdkafka property names.

extension KafkaConsumerConfiguration {
    /// The librdkafka properties for this configuration: typed settings, then `additionalProperties`,
    /// then the properties the module relies on (explicit commits only, no EOF events, no topic
    /// auto-creation by the consumer unless asked for in `additionalProperties`).
    public func properties() -> [String: String] {
        var properties: [String: String] = [
            "bootstrap.servers": bootstrapServers,
            "group.id": groupID,
            "auto.offset.reset": autoOffsetReset.rawValue,
            "partition.assignment.strategy": assignmentStrategy,
            "session.timeout.ms": sessionTimeout.millisecondsProperty,
            "heartbeat.interval.ms": heartbeatInterval.millisecondsProperty,
            "allow.auto.create.topics": "false",
        ]
        properties.merge(additionalProperties) { _, additional in additional }
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        properties["enable.partition.eof"] = "false"
        return properties
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
