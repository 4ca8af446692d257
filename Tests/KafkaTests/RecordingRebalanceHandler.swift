import Kafka
import Synchronization

/// Records rebalance events; optionally pauses what it is assigned.
final class RecordingRebalanceHandler: KafkaRebalanceHandler {
    enum Event: Equatable, Sendable {
        case assigned([KafkaTopicPartition])
        case revoked([KafkaTopicPartition])
    }

    private let recorded = Mutex<[Event]>([])
    private let commitErrors = Mutex<[KafkaError]>([])
    private let pauseOnAssign: Set<KafkaTopicPartition>
    private let commitOnRevoke: Int64?

    /// - Parameter commitOnRevoke: commit this offset for every revoked partition, from inside the callback.
    init(pauseOnAssign: Set<KafkaTopicPartition> = [], commitOnRevoke: Int64? = nil) {
        self.pauseOnAssign = pauseOnAssign
        self.commitOnRevoke = commitOnRevoke
    }

    var errors: [KafkaError] { commitErrors.withLock { $0 } }

    var events: [Event] { recorded.withLock { $0 } }

    var revokedPartitions: [KafkaTopicPartition] {
        events.flatMap { event -> [KafkaTopicPartition] in
            if case .revoked(let partitions) = event { return partitions }
            return []
        }
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        let toPause = partitions.filter { pauseOnAssign.contains($0) }
        try? consumer.pause(toPause)
        recorded.withLock { $0.append(.assigned(partitions.sorted())) }
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], consumer: KafkaConsumer) {
        if let offset = commitOnRevoke {
            do throws(KafkaError) {
                try consumer.commitOnCallingThread(Dictionary(uniqueKeysWithValues: partitions.map { ($0, offset) }))
            } catch {
                commitErrors.withLock { $0.append(error) }
            }
        }
        recorded.withLock { $0.append(.revoked(partitions.sorted())) }
    }
}
