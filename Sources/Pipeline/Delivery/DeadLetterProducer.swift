import Kafka
import Logging
import Synchronization

/// The dead-letter producer, replaced when librdkafka puts it into its fatal state (an idempotent
/// producer can go fatal on a sequence error, librdkafka issue #4438, fixed after 2.0.2): a fatal
/// producer fails every record, so retrying on it would block partitions forever.
///
/// Replacement creates a new producer from the factory. When three replacements in a row do not lead to
/// an acknowledged write, ``replace(_:logger:)`` throws: the pipeline then stops with an error and the
/// process exits non-zero, so the orchestrator restarts it.
public final class DeadLetterProducer: Sendable {
    public typealias Factory = @Sendable () throws(KafkaError) -> KafkaProducer

    private struct State {
        var producer: KafkaProducer
        /// Increases with every replacement; a worker replaces only the producer it saw fail.
        var incarnation = 0
        var replacementsSinceSuccess = 0
    }

    /// Replacements in a row without an acknowledged write before giving up.
    static let maxReplacements = 3

    private let factory: Factory
    private let state: Mutex<State>

    public init(factory: @escaping Factory) throws(KafkaError) {
        self.factory = factory
        self.state = Mutex(State(producer: try factory()))
    }

    /// The producer to use now, with its incarnation (to pass back to ``replace(_:logger:)``).
    var current: (producer: KafkaProducer, incarnation: Int) {
        state.withLock { ($0.producer, $0.incarnation) }
    }

    /// The current producer's fatal error, if it is in the fatal state.
    var fatalFailure: KafkaError? { current.producer.fatalFailure }

    /// Writes a record and waits for its acknowledgement; a success resets the replacement count.
    func send(_ record: KafkaProducerRecord) async throws(KafkaError) -> (report: KafkaDeliveryReport, incarnation: Int) {
        let (producer, incarnation) = current
        let report = try await producer.send(record)
        state.withLock { $0.replacementsSinceSuccess = 0 }
        return (report, incarnation)
    }

    /// Replaces the producer of `incarnation` after a fatal error (no-op when another caller already
    /// replaced it). Throws when the replacement budget is used up.
    func replace(_ incarnation: Int, logger: Logger) async throws(KafkaError) {
        enum Step { case none, replaced(KafkaProducer), factoryFailed(KafkaError), exhausted }
        let step: Step = state.withLock { state in
            guard state.incarnation == incarnation else { return .none }
            guard state.replacementsSinceSuccess < Self.maxReplacements else { return .exhausted }
            state.replacementsSinceSuccess += 1
            do throws(KafkaError) {
                let replacement = try factory()
                let old = state.producer
                state.producer = replacement
                state.incarnation += 1
                return .replaced(old)
            } catch {
                return .factoryFailed(error)
            }
        }
        switch step {
        case .none:
            return
        case .exhausted:
            throw KafkaError.state(
                "the dead-letter producer is in a fatal state after \(Self.maxReplacements) replacements in a row"
            )
        case .factoryFailed(let error):
            logger.error("Replacing the fatal dead-letter producer failed", metadata: ["error": "\(error)"])
        case .replaced(let old):
            logger.error("Dead-letter producer was in a fatal state; replaced it with a new one")
            // A fatal producer cannot deliver what it holds: do not wait long for it.
            await old.close(timeout: .seconds(1))
        }
    }

    /// Flushes and closes the current producer.
    func close(timeout: Duration) async {
        await current.producer.close(timeout: timeout)
    }
}
