/// The RudderStack event types the June destination accepts (docs/design.md, "Transform").
///
/// The raw value is the lower-cased event type and the last path component of the June endpoint
/// (`/api/identify`, `/api/track`, …).
public enum JuneEventType: String, Sendable, Hashable, CaseIterable {
    case identify
    case track
    case group
    case page
}
