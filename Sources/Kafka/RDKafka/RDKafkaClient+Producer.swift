import CLibrdKafka
import Foundation

// Producer-side calls. `flush` blocks; `produce` and `purge` do not.
extension RDKafkaClient {
    enum ProduceOutcome {
        case enqueued
        case queueFull
    }

    /// Enqueues one record (bytes and headers copied by librdkafka) tagged with `id`, which comes back in
    /// the delivery report. Non-blocking.
    func produce(_ record: KafkaProducerRecord, id: UInt) throws(KafkaError) -> ProduceOutcome {
        precondition(id != 0, "message id 0 is reserved")
        var scratch = ScratchAllocations()
        defer { scratch.free() }

        var values: [rd_kafka_vu_t] = []
        values.reserveCapacity(7 + record.headers.count)
        func append(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
            var value = rd_kafka_vu_t()
            value.vtype = type
            fill(&value)
            values.append(value)
        }
        let topic = scratch.cString(record.topic)
        append(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = UnsafePointer(topic) }
        append(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA }
        append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
        if let key = record.key {
            let pointer = scratch.bytes(key)
            append(RD_KAFKA_VTYPE_KEY) {
                $0.u.mem.ptr = pointer; $0.u.mem.size = key.count
            }
        }
        if let value = record.value {
            let pointer = scratch.bytes(value)
            append(RD_KAFKA_VTYPE_VALUE) {
                $0.u.mem.ptr = pointer; $0.u.mem.size = value.count
            }
        }
        // Without a VALUE entry the payload is NULL: a tombstone.
        for header in record.headers {
            let name = scratch.cString(header.key)
            let value = header.value.map { scratch.bytes($0) }
            append(RD_KAFKA_VTYPE_HEADER) {
                $0.u.header.name = UnsafePointer(name)
                $0.u.header.val = UnsafeRawPointer(value)
                $0.u.header.size = header.value?.count ?? 0
            }
        }
        if let timestamp = record.timestamp {
            append(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestamp }
        }
        append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: id) }

        guard let error = values.withUnsafeBufferPointer({ rd_kafka_produceva(unsafeHandle, $0.baseAddress, $0.count) }) else {
            return .enqueued
        }
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .queueFull
        }
        throw KafkaError(consuming: error, context: "produce to \(record.topic)")
    }

    /// Waits until every queued record got its delivery report (serving the reports). Blocking.
    func flush(timeoutMilliseconds: Int32) throws(KafkaError) {
        let code = rd_kafka_flush(unsafeHandle, timeoutMilliseconds)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(rdKafka: code, context: "flush") }
    }

    /// Fails every queued and in-flight record (their reports arrive on the next poll). Non-blocking.
    func purgeAll() {
        _ = rd_kafka_purge(
            unsafeHandle,
            RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING
        )
    }
}

/// C memory that lives until `produceva` returned (librdkafka copies what it keeps).
private struct ScratchAllocations {
    private var pointers: [UnsafeMutableRawPointer] = []

    mutating func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(string)!
        pointers.append(pointer)
        return pointer
    }

    /// Never NULL, even for zero bytes (a NULL value would mean "no value").
    mutating func bytes(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
        let pointer = malloc(max(bytes.count, 1))!
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(pointer), byteCount: $0.count) }
        pointers.append(pointer)
        return pointer
    }

    func free() {
        for pointer in pointers { Foundation.free(pointer) }
    }
}
