import Foundation

/// What the stub has seen, as served by `GET /stats`.
///
/// ```json
/// {"requests":N,"accepted":N,"uniqueAccepted":N,"duplicates":N,"orderViolations":N,"users":N,
///  "byType":{"identify":N,"track":N,"group":N,"page":N},
///  "status":{"200":N,"400":N,"401":N,"429":N,"503":N},
///  "authorizationSeen":["Basic …"],
///  "batches":N,"batchItems":N,"batchesRejected":N,"duplicateMessageIds":N,"concurrentUserViolations":N,"probes":N}
/// ```
///
/// Events are counted the same way whether they came one per request (`/api/*`) or as items of a
/// batch (`/sdk/batch`). Probes (`{}` to `/api/*`, an empty batch) count only in `probes`.
public struct JuneStubStats: Sendable, Equatable, Codable {
    /// Requests to `/api/*` and `/sdk/batch` (every outcome), probes excepted.
    public var requests: Int = 0
    /// Events accepted: `/api/*` requests answered 2xx plus the items of batches answered 2xx.
    public var accepted: Int = 0
    /// Accepted minus duplicates: distinct (user, seq) pairs plus accepted events without user or seq.
    public var uniqueAccepted: Int = 0
    /// Accepted events whose (user, seq) had already been accepted.
    public var duplicates: Int = 0
    /// Accepted events whose seq is below the highest seq already accepted for that user.
    public var orderViolations: Int = 0
    /// Distinct users among accepted events.
    public var users: Int = 0
    /// `/sdk/batch` requests answered 2xx (empty batches are probes, not counted here).
    public var batches: Int = 0
    /// Items of the batches answered 2xx (included in `accepted`).
    public var batchItems: Int = 0
    /// `/sdk/batch` requests answered 400: a body that is not JSON, too large, not in the batch shape or
    /// not sent as `application/json`, or a batch holding a `stub:reject` item.
    public var batchesRejected: Int = 0
    /// Accepted events whose `messageId` had already been accepted (events without one are not checked).
    public var duplicateMessageIds: Int = 0
    /// Users that arrived in a request while a request of theirs was still being answered, once per
    /// user and request (a batch may carry several events of one user).
    public var concurrentUserViolations: Int = 0
    /// Probe requests: `{}` posted to `/api/*`, or a batch with no items.
    public var probes: Int = 0
    /// Requests to `/api/*` and `/sdk/batch` (probes included) given a slot: every one without a
    /// capacity, all but the capacity 429s with `--capacity-429`.
    public var served: Int = 0
    /// Most requests being served at once (arrival, or the end of its queue wait, to answer); at most N
    /// with a capacity.
    public var peakConcurrent: Int = 0
    /// Most requests waiting for a slot at once (`--capacity N` only).
    public var peakQueued: Int = 0
    /// Requests answered 429 at once because `--capacity-429 N` requests were being served (probes
    /// included; also counted in `status["429"]` unless a probe).
    public var capacityRejections: Int = 0
    /// Requests answered by `POST /control/answer` (probes included).
    public var forcedAnswers: Int = 0
    /// `/api/*` requests per endpoint (every outcome); the four types are always present.
    public var byType: [String: Int] = [:]
    /// Responses to `/api/*` and `/sdk/batch` requests per status code, probes excepted; 200, 400, 401,
    /// 429 and 503 are always present.
    public var status: [String: Int] = [:]
    /// Distinct `Authorization` header values seen on `/api/*` and `/sdk/batch`, at most 10.
    public var authorizationSeen: [String] = []
    /// Arrival-to-answer time of the served requests (queue wait plus latency).
    public var latency: JuneStubLatencyStats = JuneStubLatencyStats()

    /// All counters zero.
    public init() {}

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
