import CLibrdKafka
import Logging

// The C callbacks set on every handle. Each finds its ``RDKafkaCallbackContext`` through the opaque
// pointer set with `rd_kafka_conf_set_opaque`, which the owning ``RDKafkaClient`` keeps alive.

/// librdkafka log lines (syslog levels) → swift-log. Called from librdkafka's internal threads.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, buffer in
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let swiftLevel: Logger.Level
    switch level {
    case ...2: swiftLevel = .critical
    case 3: swiftLevel = .error
    case 4: swiftLevel = .warning
    case 5: swiftLevel = .notice
    case 6: swiftLevel = .info
    default: swiftLevel = .debug
    }
    guard context.logger.logLevel <= swiftLevel else { return }
    let message = buffer.map { String(cString: $0) } ?? ""
    context.logger.log(
        level: swiftLevel,
        "\(message)",
        metadata: [
            KafkaLoggingKeys.client: "\(String(cString: rd_kafka_name(handle)))",
            KafkaLoggingKeys.facility: "\(facility.map { String(cString: $0) } ?? "")",
        ]
    )
}

/// Client-level errors (brokers down, authentication, fatal). Served by poll.
let rdKafkaErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, code, reason, opaque in
    guard let handle, let opaque else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    let reasonText = reason.map { String(cString: $0) } ?? ""
    var metadata: Logger.Metadata = [
        KafkaLoggingKeys.client: "\(String(cString: rd_kafka_name(handle)))",
        KafkaLoggingKeys.errorCode: "\(code)",
        KafkaLoggingKeys.errorReason: "\(reasonText)",
    ]
    if code == RD_KAFKA_RESP_ERR__FATAL.rawValue {
        var buffer = [CChar](repeating: 0, count: 512)
        let fatalCode = buffer.withUnsafeMutableBufferPointer { rd_kafka_fatal_error(handle, $0.baseAddress, $0.count) }
        let fatalReason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        metadata[KafkaLoggingKeys.errorCode] = "\(fatalCode.rawValue)"
        metadata[KafkaLoggingKeys.errorReason] = "\(fatalReason)"
        context.recordFatalError(
            KafkaError(code: KafkaError.Code(rdKafka: fatalCode), message: "fatal Kafka error: \(fatalReason)", isFatal: true)
        )
        context.logger.critical("Kafka client failed fatally", metadata: metadata)
    } else if code == RD_KAFKA_RESP_ERR__TRANSPORT.rawValue {
        // Brokers close idle connections; librdkafka reconnects by itself.
        context.logger.debug("Kafka connection error", metadata: metadata)
    } else {
        context.logger.warning("Kafka client error", metadata: metadata)
    }
}

/// Delivery reports: one per produced message, served by `rd_kafka_poll` / `rd_kafka_flush`.
let rdKafkaDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    guard let onDelivery = context.onDelivery, let id = message.pointee._private.map({ UInt(bitPattern: $0) }) else {
        return
    }
    let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    let result: Result<KafkaDeliveryReport, KafkaError>
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        result = .success(KafkaDeliveryReport(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset))
    } else {
        result = .failure(KafkaError(rdKafka: message.pointee.err, context: "delivery to \(topic) failed"))
    }
    onDelivery(id, result)
}

/// Statistics reports (`statistics.interval.ms`), served by poll. Returning 0 lets librdkafka free the JSON.
let rdKafkaStatisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, json, length, opaque in
    guard let json, let opaque else { return 0 }
    let context = Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    guard let onStatistics = context.onStatistics else { return 0 }
    if let statistics = KafkaStatistics(json: UnsafeRawBufferPointer(start: json, count: length)) {
        onStatistics(statistics)
    } else {
        context.logger.debug("Unreadable Kafka statistics report")
    }
    return 0
}
