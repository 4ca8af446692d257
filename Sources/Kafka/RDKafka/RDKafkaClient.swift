import CLibrdKafka
import Logging
import Synchronization

/// Owns one `rd_kafka_t` (and, through ``context``, the state its callbacks use). Destroys it in `deinit`.
///
/// `@unchecked Sendable`: librdkafka's `rd_kafka_t` is thread-safe; every function called on it here may
/// be called from any thread (librdkafka INTRODUCTION.md, "Threads and callbacks"). The handle pointer
/// is immutable and never leaves this class except through ``unsafeHandle``.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind: Sendable {
        case consumer
        case producer
    }

    let kind: Kind
    let context: RDKafkaCallbackContext
    /// librdkafka's client name, e.g. `rdkafka#consumer-1`.
    let name: String
    /// The logger with `kafka.client` metadata.
    let logger: Logger
    private let handle: OpaquePointer
    /// A consumer whose assignor keeps state (`sticky`, `cooperative-sticky`): see `deinit`.
    private let usesStickyAssignor: Bool
    private let subscribed = Atomic<Bool>(false)
    private let consumerClosed = Atomic<Bool>(false)

    private init(kind: Kind, handle: OpaquePointer, context: RDKafkaCallbackContext, name: String, usesStickyAssignor: Bool) {
        self.kind = kind
        self.handle = handle
        self.context = context
        self.name = name
        self.usesStickyAssignor = usesStickyAssignor
        var logger = context.logger
        logger[metadataKey: KafkaLoggingKeys.client] = "\(name)"
        self.logger = logger
    }

    /// Creates a client. Logs go to `context.logger`; consumers get the rebalance callback and have their
    /// main queue forwarded to the consumer queue (so `rd_kafka_consumer_poll` serves every callback);
    /// producers get the delivery-report callback; a context with `onStatistics` gets the statistics one.
    static func make(
        _ kind: Kind,
        properties: [String: String],
        context: RDKafkaCallbackContext
    ) throws(KafkaError) -> RDKafkaClient {
        let conf = try RDKafkaConf(properties: properties)
        conf.withPointer { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
            rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
            rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
            if context.onStatistics != nil {
                rd_kafka_conf_set_stats_cb(conf, rdKafkaStatisticsCallback)
            }
            switch kind {
            case .consumer:
                rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceCallback)
            case .producer:
                rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryCallback)
            }
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        var handle: OpaquePointer?
        conf.consume { conf in
            handle = errorBuffer.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_new(kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, buffer.baseAddress, buffer.count)
            }
            return handle != nil
        }
        guard let handle else {
            let reason = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError.config("cannot create Kafka client: \(reason)")
        }
        if kind == .consumer {
            rd_kafka_poll_set_consumer(handle)
        }
        let name = String(cString: rd_kafka_name(handle))
        let sticky = kind == .consumer && (properties["partition.assignment.strategy"] ?? "").contains("sticky")
        return RDKafkaClient(kind: kind, handle: handle, context: context, name: name, usesStickyAssignor: sticky)
    }

    deinit {
        if self.mayAbortOnDestroy {
            // librdkafka 2.0.2 aborts in rd_kafka_destroy (`rd_kafka_sticky_assignor_state_destroy:
            // Assertion 'assignor_state' failed`, librdkafka issue #4312, fixed in 2.3.0) when a sticky
            // consumer has its JoinGroup answer but no assignment yet: a relay stopped while it joins a busy
            // group. Whether the answer came cannot be read, so a sticky consumer that subscribed and was
            // never assigned is closed (it leaves its group) but not destroyed: its threads and memory stay
            // until the process ends, and so does the context its callbacks use. In the relay and the
            // operator tools this happens only on the way out.
            if markConsumerClosed() {
                rd_kafka_consumer_close(handle)
            }
            _ = Unmanaged.passRetained(context)
            logger.debug("Kafka consumer released before its first assignment: handle closed, kept until exit (librdkafka #4312)")
            return
        }
        // For a consumer that was not closed, this also runs rd_kafka_consumer_close (and the rebalance
        // callback, which then finds no observer alive).
        rd_kafka_destroy(handle)
    }

    /// A sticky consumer that subscribed and never saw an assignment (see `deinit`).
    private var mayAbortOnDestroy: Bool {
        usesStickyAssignor && subscribed.load(ordering: .acquiring) && !context.sawAssignment
    }

    /// Whether ``markSubscribed()`` was called (the consumer has subscribed).
    var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    /// Notes a subscription (see `deinit`).
    func markSubscribed() {
        subscribed.store(true, ordering: .releasing)
    }

    /// Notes a consumer close; true when it is the first.
    func markConsumerClosed() -> Bool {
        !consumerClosed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// The raw handle, for the librdkafka calls in the `RDKafkaClient+*.swift` extensions and the mock
    /// cluster. Do not store it.
    var unsafeHandle: OpaquePointer { handle }

    /// The fatal error librdkafka raised, if any (the instance is unusable after one).
    func fatalErrorState() -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = buffer.withUnsafeMutableBufferPointer { rd_kafka_fatal_error(handle, $0.baseAddress, $0.count) }
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return KafkaError(code: KafkaError.Code(rdKafka: code), message: "fatal Kafka error: \(reason)", isFatal: true)
    }

    /// Serves queued callbacks (delivery reports, errors) for up to `timeoutMilliseconds`. Returns how many.
    @discardableResult
    func poll(timeoutMilliseconds: Int32) -> Int32 {
        rd_kafka_poll(handle, timeoutMilliseconds)
    }

    /// The number of messages and requests waiting in librdkafka's queues.
    var outQueueLength: Int32 { rd_kafka_outq_len(handle) }
}
