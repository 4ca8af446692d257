// TEMPORARY copy (http worktree only): the real type is written in the JuneTransform worktree.
// Drop this file at merge in favour of theirs.

/// The June tracking-API endpoint a request goes to.
public enum JuneEventType: String, Sendable, Hashable {
    case identify, track, group, page
}

/// One request to June's tracking API: endpoint plus JSON body bytes.
public struct JuneRequest: Sendable, Equatable {
    public var type: JuneEventType
    public var path: String { "/api/\(type.rawValue)" }
    public var body: [UInt8]
    public var orderingKey: String?

    public init(type: JuneEventType, body: [UInt8], orderingKey: String?) {
        self.type = type
        self.body = body
        self.orderingKey = orderingKey
    }
}
