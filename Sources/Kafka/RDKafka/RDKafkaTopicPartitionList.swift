import CLibrdKafka
import Foundation

/// Owns an `rd_kafka_topic_partition_list_t`; lends it only through ``withListPointer(_:)``.
final class RDKafkaTopicPartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 1) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: max(capacity, 1)))
    }

    /// Takes ownership of a list librdkafka handed over (e.g. from `rd_kafka_assignment`).
    init(adopting pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.pointer = pointer
    }

    convenience init(_ partitions: [KafkaTopicPartition], offset: Int64 = RDKafkaOffset.invalid) {
        self.init(capacity: partitions.count)
        for tp in partitions { add(tp, offset: offset) }
    }

    convenience init(_ offsets: [KafkaTopicPartition: Int64]) {
        self.init(capacity: offsets.count)
        for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) { add(tp, offset: offset) }
    }

    /// Offsets with their commit metadata strings.
    convenience init(_ commits: [KafkaTopicPartition: KafkaOffsetCommit]) {
        self.init(capacity: commits.count)
        for (tp, commit) in commits.sorted(by: { $0.key < $1.key }) {
            add(tp, offset: commit.offset, metadata: commit.metadata)
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(_ tp: KafkaTopicPartition, offset: Int64 = RDKafkaOffset.invalid, metadata: String = "") {
        guard let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition) else { return }
        element.pointee.offset = offset
        let bytes = Array(metadata.utf8)
        if !bytes.isEmpty, let copy = malloc(bytes.count) {
            // The list owns the copy: rd_kafka_topic_partition_list_destroy frees `metadata`.
            bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            element.pointee.metadata = copy
            element.pointee.metadata_size = bytes.count
        }
    }

    func withListPointer<T>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(KafkaError) -> T) throws(KafkaError) -> T {
        try body(pointer)
    }

    /// The elements: partition, offset and per-partition error.
    var entries: [Entry] { Self.entries(of: pointer) }

    struct Entry {
        var topicPartition: KafkaTopicPartition
        var offset: Int64
        var error: rd_kafka_resp_err_t
        /// The commit metadata string ("" when none).
        var metadata: String
    }

    /// Reads a list librdkafka owns (for example the one passed to the rebalance callback).
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [Entry] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            var metadata = ""
            if let bytes = element.metadata, element.metadata_size > 0 {
                metadata = String(decoding: UnsafeRawBufferPointer(start: bytes, count: element.metadata_size), as: UTF8.self)
            }
            return Entry(
                topicPartition: KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                offset: element.offset,
                error: element.err,
                metadata: metadata
            )
        }
    }

    /// The first per-partition error, if any.
    func firstError(operation: String) -> KafkaError? {
        Self.firstError(in: entries, operation: operation)
    }

    /// The first per-partition error among `entries` (also for lists librdkafka owns).
    static func firstError(in entries: [Entry], operation: String) -> KafkaError? {
        for entry in entries where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            return KafkaError(rdKafka: entry.error, context: "\(operation) \(entry.topicPartition)")
        }
        return nil
    }
}

/// librdkafka's logical offsets.
enum RDKafkaOffset {
    static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    static let end = Int64(RD_KAFKA_OFFSET_END)
    static let stored = Int64(RD_KAFKA_OFFSET_STORED)
    static let invalid = Int64(RD_KAFKA_OFFSET_INVALID)
}
