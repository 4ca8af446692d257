import CLibrdKafka

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` consumes it (on success only); destroys it otherwise.
final class RDKafkaConf {
    private var pointer: OpaquePointer?

    /// Sets every property; an unknown key or invalid value throws ``KafkaError/config(_:)`` naming the key.
    init(properties: [String: String]) throws(KafkaError) {
        pointer = rd_kafka_conf_new()
        for key in properties.keys.sorted() {
            try set(key, properties[key]!)
        }
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ key: String, _ value: String) throws(KafkaError) {
        guard let pointer else { preconditionFailure("RDKafkaConf used after rd_kafka_new consumed it") }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let result = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_conf_set(pointer, key, value, buffer.baseAddress, buffer.count)
        }
        guard result == RD_KAFKA_CONF_OK else {
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // The value is not echoed: it may be a secret (sasl.password, ssl.key.password).
            throw KafkaError.config("invalid Kafka property \"\(key)\": \(reason)")
        }
    }

    /// Lends the pointer to `body`; if `body` returns `true`, the conf counts as consumed and is not destroyed.
    func consume(_ body: (OpaquePointer) -> Bool) {
        guard let pointer else { preconditionFailure("RDKafkaConf consumed twice") }
        if body(pointer) { self.pointer = nil }
    }

    func withPointer<T>(_ body: (OpaquePointer) -> T) -> T {
        guard let pointer else { preconditionFailure("RDKafkaConf used after rd_kafka_new consumed it") }
        return body(pointer)
    }
}
