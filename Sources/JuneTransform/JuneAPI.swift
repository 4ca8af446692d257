import Foundation

/// June's HTTP API as the relay speaks it: the base URL, the endpoint paths and the two forms of the
/// write key in `Authorization`. The one home used by the client, the `transform` renderer and the stub.
public enum JuneAPI {
    /// June's production API.
    public static let defaultBaseURL = "https://api.june.so"

    /// `/sdk/batch`: June's batch endpoint (what June's own SDKs post to).
    public static let batchPath = "/sdk/batch"

    /// `/api/<type>`: the per-event endpoint RudderStack's June destination posts to.
    public static func eventPath(_ type: JuneEventType) -> String { Self.eventPaths[type.index] }

    /// The event type a per-event path is for; nil for any other path.
    public static func eventType(forPath path: some StringProtocol) -> JuneEventType? {
        JuneEventType.allCases.first { Self.eventPaths[$0.index] == path }
    }

    /// The `Authorization` value on `/api/<type>`: `Basic <raw key>`, as RudderStack sends it.
    public static func eventAuthorization(writeKey: String) -> String { "Basic \(writeKey)" }

    /// The `Authorization` value on `/sdk/batch`: `Basic <base64 of "<key>:">` (RFC 7617, the key as
    /// user name and an empty password), as June's SDKs send it.
    public static func batchAuthorization(writeKey: String) -> String {
        "Basic " + Data("\(writeKey):".utf8).base64EncodedString()
    }

    private static let eventPaths = JuneEventType.allCases.map { "/api/\($0.rawValue)" }
}

extension JuneEventType {
    /// The position in `allCases`, for tables indexed by type.
    var index: Int {
        switch self {
        case .identify: 0
        case .track: 1
        case .group: 2
        case .page: 3
        }
    }
}
