import Kafka

/// An error from an operator tool (`offsets`, `dlq redrive`): what went wrong, in words an operator
/// can act on, plus what callers branch on (``kind``).
public struct OperationsError: Error, Sendable {
    /// What kind of failure this is.
    public enum Kind: Sendable, Equatable {
        /// A bad argument (unknown partition, unparsable date, same source and target topic).
        case invalidArgument
        /// A topic does not exist (tools never auto-create topics).
        case unknownTopic
        /// The consumer group has active members, so its offsets cannot be changed now.
        case activeMembers
        /// Joining the group or reading a partition did not finish in time.
        case timedOut
        /// Any other Kafka failure.
        case kafka
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// A sentence for the operator.
    public var message: String
    /// The Kafka error underneath, if any.
    public var underlying: KafkaError?

    public init(kind: Kind, message: String, underlying: KafkaError? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
    }

    static func invalidArgument(_ message: String) -> OperationsError {
        OperationsError(kind: .invalidArgument, message: message)
    }

    /// Maps a Kafka error of `action` ("reading offsets of group g") to an operator-facing error.
    static func kafka(_ error: KafkaError, while action: String) -> OperationsError {
        switch error.code {
        case KafkaError.Code.state:
            OperationsError(kind: .activeMembers, message: error.message, underlying: error)
        case KafkaError.Code.timedOut:
            OperationsError(kind: .timedOut, message: "\(action): \(error.message)", underlying: error)
        case KafkaError.Code.unknownTopicOrPartition, KafkaError.Code.unknownTopic:
            OperationsError(kind: .unknownTopic, message: error.message, underlying: error)
        case KafkaError.Code.invalidArgument:
            OperationsError(kind: .invalidArgument, message: "\(action): \(error.message)", underlying: error)
        default:
            OperationsError(kind: .kafka, message: "\(action): \(error.message)", underlying: error)
        }
    }
}

// MARK: - OperationsError + CustomStringConvertible

extension OperationsError: CustomStringConvertible {
    public var description: String { message }
}

/// Runs a Kafka call and maps its error with ``OperationsError/kafka(_:while:)``.
func mappingKafkaErrors<T>(
    _ action: @autoclosure () -> String,
    _ body: () async throws(KafkaError) -> T
) async throws(OperationsError) -> T {
    do throws(KafkaError) {
        return try await body()
    } catch {
        throw OperationsError.kafka(error, while: action())
    }
}
