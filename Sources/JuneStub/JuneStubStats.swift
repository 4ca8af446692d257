import Foundation

/// What the stub has seen, as served by `GET /stats`.
///
/// ```json
/// {"requests":N,"accepted":N,"uniqueAccepted":N,"duplicates":N,"orderViolations":N,"users":N,
///  "byType":{"identify":N,"track":N,"group":N,"page":N},
///  "status":{"200":N,"400":N,"401":N,"429":N,"503":N},
///  "authorizationSeen":["Basic …"]}
/// ```
public struct JuneStubStats: Sendable, Equatable, Codable {
    /// Requests to `/api/*` (every outcome).
    public var requests: Int
    /// `/api/*` requests answered 2xx.
    public var accepted: Int
    /// Accepted minus duplicates: distinct (user, seq) pairs plus accepted events without user or seq.
    public var uniqueAccepted: Int
    /// Accepted events whose (user, seq) had already been accepted.
    public var duplicates: Int
    /// Accepted events whose seq is below the highest seq already accepted for that user.
    public var orderViolations: Int
    /// Distinct users among accepted events.
    public var users: Int
    /// `/api/*` requests per endpoint (every outcome); the four types are always present.
    public var byType: [String: Int]
    /// `/api/*` responses per status code; 200, 400, 401, 429 and 503 are always present.
    public var status: [String: Int]
    /// Distinct `Authorization` header values seen on `/api/*`, at most 10.
    public var authorizationSeen: [String]

    public init(
        requests: Int = 0,
        accepted: Int = 0,
        uniqueAccepted: Int = 0,
        duplicates: Int = 0,
        orderViolations: Int = 0,
        users: Int = 0,
        byType: [String: Int] = [:],
        status: [String: Int] = [:],
        authorizationSeen: [String] = []
    ) {
        self.requests = requests
        self.accepted = accepted
        self.uniqueAccepted = uniqueAccepted
        self.duplicates = duplicates
        self.orderViolations = orderViolations
        self.users = users
        self.byType = byType
        self.status = status
        self.authorizationSeen = authorizationSeen
    }

    /// The `/stats` JSON (sorted keys).
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { Array($0) } ?? Array("{}".utf8)
    }

    /// Decodes the `/stats` JSON (for tests and the demo).
    public static func decode(_ bytes: [UInt8]) throws -> JuneStubStats {
        try JSONDecoder().decode(JuneStubStats.self, from: Data(bytes))
    }
}
