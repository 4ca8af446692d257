import Kafka

/// Per source partition: the next offset to redrive and the end offset seen at start.
struct RedriveProgress {
    struct Partition {
        var next: Int64
        var end: Int64
    }

    private var partitions: [Int32: Partition] = [:]

    mutating func add(partition: Int32, start: Int64, end: Int64) {
        partitions[partition] = Partition(next: start, end: end)
    }

    subscript(partition: Int32) -> Partition? { partitions[partition] }

    /// Records between the next offset and the end offset, over every partition.
    var remaining: Int {
        partitions.values.reduce(0) { $0 + Int(max(0, $1.end - $1.next)) }
    }

    var isComplete: Bool { partitions.values.allSatisfy { $0.next >= $0.end } }

    var finishedPartitions: Set<Int32> {
        Set(partitions.filter { $0.value.next >= $0.value.end }.keys)
    }

    /// Advances each partition through its records that were written, up to the first failure (in
    /// offset order), and returns the offsets to commit (next offset to read) for partitions that moved.
    mutating func record(batch: [KafkaMessage], failures: [Int: KafkaError]) -> [Int32: Int64] {
        var byPartition: [Int32: [(offset: Int64, failed: Bool)]] = [:]
        for (index, message) in batch.enumerated() {
            byPartition[message.partition, default: []].append((message.offset, failures[index] != nil))
        }
        var commit: [Int32: Int64] = [:]
        for (partition, records) in byPartition {
            guard var state = partitions[partition] else { continue }
            for record in records.sorted(by: { $0.offset < $1.offset }) {
                if record.failed { break }
                state.next = record.offset + 1
            }
            if state.next != partitions[partition]?.next {
                partitions[partition] = state
                commit[partition] = state.next
            }
        }
        return commit
    }
}
