/// An error from the Kafka module: a librdkafka error (broker or local) or a misuse of the API.
public struct KafkaError: Error, Sendable {
    /// librdkafka's `rd_kafka_resp_err_t`: broker errors are positive, librdkafka's local errors are
    /// negative (e.g. `-185` timed out). ``Code`` names the values this module and its users compare with.
    public var code: Code
    /// What went wrong, in words (librdkafka's error string, plus context).
    public var message: String
    /// Whether retrying the same operation may succeed.
    public var isRetriable: Bool
    /// Whether the client instance is unusable (librdkafka fatal error); the process should restart it.
    public var isFatal: Bool

    public init(code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }
}

// MARK: - KafkaError + Code

extension KafkaError {
    /// A librdkafka error code (`rd_kafka_resp_err_t`), with the values the module and its users name.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The `rd_kafka_resp_err_t` value.
        public var rawValue: Int32

        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        /// The raw value, as librdkafka prints it.
        public var description: String { String(rawValue) }

        /// `RD_KAFKA_RESP_ERR__FAIL`: generic local failure.
        public static let fail = Code(rawValue: -196)
        /// `RD_KAFKA_RESP_ERR__DESTROY`: the client is closed or being destroyed.
        public static let destroyed = Code(rawValue: -197)
        /// `RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION`.
        public static let unknownPartition = Code(rawValue: -190)
        /// `RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC`.
        public static let unknownTopic = Code(rawValue: -188)
        /// `RD_KAFKA_RESP_ERR__INVALID_ARG`: an invalid configuration property or argument.
        public static let invalidArgument = Code(rawValue: -186)
        /// `RD_KAFKA_RESP_ERR__TIMED_OUT`.
        public static let timedOut = Code(rawValue: -185)
        /// `RD_KAFKA_RESP_ERR__QUEUE_FULL`.
        public static let queueFull = Code(rawValue: -184)
        /// `RD_KAFKA_RESP_ERR__STATE`: wrong state (e.g. closed, or the group has active members).
        public static let state = Code(rawValue: -172)
        /// `RD_KAFKA_RESP_ERR__FATAL`.
        public static let fatal = Code(rawValue: -150)
        /// `RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART` (broker).
        public static let unknownTopicOrPartition = Code(rawValue: 3)
        /// `RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT` (broker, retriable).
        public static let requestTimedOut = Code(rawValue: 7)
        /// `RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE` (broker).
        public static let messageSizeTooLarge = Code(rawValue: 10)
        /// `RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED` (broker).
        public static let topicAuthorizationFailed = Code(rawValue: 29)
        /// `RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE` (broker): a commit's metadata string is over the
        /// broker's `offset.metadata.max.bytes`.
        public static let offsetMetadataTooLarge = Code(rawValue: 12)
        /// `RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION` (broker): the group moved to a newer generation.
        public static let illegalGeneration = Code(rawValue: 22)
        /// `RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID` (broker).
        public static let unknownMemberID = Code(rawValue: 25)
        /// `RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS` (broker).
        public static let rebalanceInProgress = Code(rawValue: 27)
        /// `RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE` (broker): a refused commit that is no rebalance.
        public static let invalidCommitOffsetSize = Code(rawValue: 28)
        /// `RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE` (broker).
        public static let recordListTooLarge = Code(rawValue: 18)
        /// `RD_KAFKA_RESP_ERR_INVALID_RECORD` (broker).
        public static let invalidRecord = Code(rawValue: 87)
    }

    /// True when the record can never be written as it is: it is over the producer's `message.max.bytes` (librdkafka
    /// reports it with the broker's code) or the topic's size limit, or the broker found it invalid. Retrying the same record cannot succeed.
    public var isRecordRejected: Bool {
        code == Code.messageSizeTooLarge || code == Code.recordListTooLarge || code == Code.invalidRecord
    }

    /// True when a group request (a commit) failed because the group is rebalancing or this member's
    /// generation is outdated: the commit can succeed once this member has rejoined.
    public var isGroupRebalancing: Bool {
        code == Code.rebalanceInProgress || code == Code.illegalGeneration || code == Code.unknownMemberID
    }

    /// An invalid or unknown librdkafka configuration property. The message names the key.
    public static func config(_ message: String) -> KafkaError {
        KafkaError(code: Code.invalidArgument, message: message)
    }

    /// The topic does not exist (it is not auto-created).
    public static func unknownTopic(_ topic: String) -> KafkaError {
        KafkaError(code: Code.unknownTopicOrPartition, message: "topic \(topic) does not exist")
    }

    /// The client was closed.
    public static func closed(_ what: String) -> KafkaError {
        KafkaError(code: Code.destroyed, message: "\(what) is closed")
    }

    /// An operation did not finish in time.
    public static func timedOut(_ what: String) -> KafkaError {
        KafkaError(code: Code.timedOut, message: "\(what) timed out", isRetriable: true)
    }

    /// An operation is not possible in the current state.
    public static func state(_ message: String) -> KafkaError {
        KafkaError(code: Code.state, message: message)
    }

    /// A misuse of the API.
    public static func invalidArgument(_ message: String) -> KafkaError {
        KafkaError(code: Code.invalidArgument, message: message)
    }
}

// MARK: - KafkaError + CustomStringConvertible

extension KafkaError: CustomStringConvertible {
    public var description: String {
        var flags = ""
        if isFatal { flags += ", fatal" }
        if isRetriable { flags += ", retriable" }
        return "KafkaError(\(code)\(flags)): \(message)"
    }
}
