/// One request for June's tracking API, produced by ``JuneTransformer`` from one RudderStack event.
public struct JuneRequest: Sendable, Equatable {
    /// The event type; it selects the endpoint.
    public var type: JuneEventType

    /// The endpoint path relative to the June base URL, e.g. `/api/track`.
    public var path: String { JuneAPI.eventPath(self.type) }

    /// The serialized JSON body (UTF-8), ready to POST with `Content-Type: application/json`.
    ///
    /// Values are copied byte-for-byte from the input event, so numbers beyond 2^53, floats,
    /// unicode and escape sequences come out exactly as they went in.
    public var body: [UInt8]

    /// The per-user ordering key (docs/design.md, "Ordering"): the resolved userId (a string's decoded text, or a
    /// number's JSON text), else `anonymousId` (string or number), else `nil`. When `nil` the relay
    /// falls back to the Kafka message key.
    public var orderingKey: String?

    /// The RudderStack event's top-level `messageId` (decoded text) when it is a non-empty JSON string,
    /// else `nil`. Batch delivery sends it as the item's `messageId`, so the same event keeps the same
    /// id on every retry, replay and redrive; without one the relay derives an id from the record.
    public var messageID: String?

    public init(type: JuneEventType, body: [UInt8], orderingKey: String?, messageID: String? = nil) {
        self.type = type
        self.body = body
        self.orderingKey = orderingKey
        self.messageID = messageID
    }
}
