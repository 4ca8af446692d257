/// Why an event could not be turned into a June request. Always HTTP-style status 400; the relay
/// sends the event to the dead-letter topic with ``reason`` and ``message`` as headers (docs/design.md, "Dead letters").
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `june-relay.error.reason` header value.
    public enum Reason: String, Sendable {
        /// The bytes are not valid JSON (syntax, UTF-8, nesting depth, empty input).
        case invalidJSON = "invalid-json"
        /// The JSON is valid but is not an event June accepts (not an object, too large, missing
        /// or unsupported type, missing required field).
        case invalidEvent = "invalid-event"
    }

    public var reason: Reason
    /// Always 400, like RudderStack's instrumentation errors.
    public var statusCode: Int
    /// A human-readable message; for rule violations exactly RudderStack's text (docs/design.md, "Transform").
    public var message: String

    public init(reason: Reason, message: String, statusCode: Int = 400) {
        self.reason = reason
        self.statusCode = statusCode
        self.message = message
    }

    public var description: String { "\(reason.rawValue) (\(statusCode)): \(message)" }
}

// MARK: - TransformError + factories

extension TransformError {
    static func invalidJSON(_ message: String) -> TransformError {
        TransformError(reason: .invalidJSON, message: message)
    }

    static func invalidEvent(_ message: String) -> TransformError {
        TransformError(reason: .invalidEvent, message: message)
    }

    /// `Missing required value from "<key>"` (key: userIdOnly, timestamp, event, groupId, properties).
    static func missingRequired(_ key: StaticString) -> TransformError {
        invalidEvent("Missing required value from \"\(key)\"")
    }

    static let typeRequired = invalidEvent("Event type is required")

    static func unsupportedType(_ lowercased: String) -> TransformError {
        invalidEvent("Event type \"\(lowercased)\" is not supported")
    }
}
