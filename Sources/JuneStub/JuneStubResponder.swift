import JuneTransform
import MiniHTTPServer
import Synchronization

/// The stub's request handling and state. Runs on event loops: every path is quick and non-blocking.
/// Decisions are in `JuneStubResponder+Decisions.swift`, control and inspection endpoints in
/// `JuneStubResponder+Control.swift`.
final class JuneStubResponder: Sendable {
    struct State: Sendable {
        var ledger = JuneStubLedger()
        var random: JuneStubRandom
        /// The accepted write key; nil accepts any non-empty key.
        var writeKey: String?
        /// Requests being served and waiting (`configuration.capacity`).
        var slots: JuneStubSlots
        /// Arrival-to-answer time of served requests.
        var latency = JuneStubLatency()
        /// Set by `POST /control/answer`.
        var forcedAnswer: JuneStubForcedAnswer?
        /// Whether `stub:reject` events are refused (`POST /control/reject-hook`). Default: on.
        var rejectHook = true
    }

    /// How one request is answered.
    struct Decision {
        var status: Int
        var body: [UInt8]
        /// Given by `POST /control/answer`: never recorded as delivered.
        var forced = false

        /// Whether the request's events count as accepted.
        var delivers: Bool { !self.forced && (200..<300).contains(self.status) }
    }

    enum Body {
        static let success = Array(#"{"success":true}"#.utf8)
        static let unauthorized = Array(#"{"error":"missing or invalid Authorization header"}"#.utf8)
        static let invalidWriteKey = Array(#"{"error":"invalid write key"}"#.utf8)
        static let badContentType = Array(#"{"error":"Content-Type must be application/json"}"#.utf8)
        static let notAnObject = Array(#"{"error":"body must be a JSON object"}"#.utf8)
        static let missingFields = Array(#"{"error":"missing required fields"}"#.utf8)
        static let rejectedByStub = Array(#"{"error":"rejected by stub"}"#.utf8)
        static let outage = Array(#"{"error":"service unavailable (stub outage)"}"#.utf8)
        static let failingUser = Array(#"{"error":"service unavailable (stub-fail- user)"}"#.utf8)
        static let injectedFailure = Array(#"{"error":"service unavailable (injected)"}"#.utf8)
        static let throttled = Array(#"{"error":"too many requests (injected)"}"#.utf8)
        static let overCapacity = Array(#"{"error":"too many requests (stub capacity)"}"#.utf8)
    }

    let configuration: JuneStubConfiguration
    let state: Mutex<State>

    init(configuration: JuneStubConfiguration) {
        self.configuration = configuration
        var seeder = SystemRandomNumberGenerator()
        let seed = configuration.seed ?? seeder.next()
        let writeKey = configuration.writeKey.flatMap { $0.isEmpty ? nil : $0 }
        let slots = JuneStubSlots(capacity: configuration.capacity, latency: configuration.latency)
        self.state = Mutex(State(random: JuneStubRandom(seed: seed), writeKey: writeKey, slots: slots))
    }

    private static var methodNotAllowed: MiniHTTPResponse { .json(#"{"error":"method not allowed"}"#, status: 405) }

    func handle(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        if let type = JuneAPI.eventType(forPath: request.path) {
            return request.method == "POST" ? self.handleEvent(request, type: type) : Self.methodNotAllowed
        }
        if request.path == JuneAPI.batchPath {
            return request.method == "POST" ? self.handleBatch(request) : Self.methodNotAllowed
        }
        switch (request.method, request.path) {
        case ("GET", "/stats"): return .json(self.stats().jsonBytes())
        case ("POST", "/stats/reset"):
            self.resetStats()
            return .json(#"{"reset":true}"#)
        case ("GET", "/events"): return self.handleEvents(request)
        case ("POST", "/control/outage"): return self.handleOutage(request)
        case ("POST", "/control/write-key"): return self.handleWriteKey(request)
        case ("POST", "/control/answer"): return self.handleAnswer(request)
        case ("GET", "/message-ids"): return self.handleMessageIDs(request)
        case ("POST", "/control/reject-hook"): return self.handleRejectHook(request)
        case ("GET", "/healthz"): return .text("ok")
        case (_, "/stats"), (_, "/stats/reset"), (_, "/events"), (_, "/control/outage"), (_, "/control/write-key"),
            (_, "/control/answer"), (_, "/message-ids"), (_, "/control/reject-hook"), (_, "/healthz"):
            return Self.methodNotAllowed
        default:
            return .json(#"{"error":"not found"}"#, status: 404)
        }
    }

    // MARK: - /api/<type>

    private func handleEvent(_ request: MiniHTTPRequest, type: JuneEventType) -> MiniHTTPResponse {
        let authorization = request.headers.first(name: "authorization")
        let key = JuneStubCredentials.rawKey(authorization)
        let jsonContent = request.headers.first(name: "content-type").map(Self.isJSONContentType) ?? false
        // Parse outside the lock.
        let fields = key != nil && jsonContent ? JuneStubEventFields.parse(request.body) : nil
        let isProbe = fields?.isEmpty ?? false

        let (decision, delay): (Decision, Duration) = self.state.withLock { state in
            let now = ContinuousClock.now
            guard let delay = Self.admit(&state, now: now, isProbe: isProbe, type: type.rawValue, authorization: authorization)
            else { return (Decision(status: 429, body: Body.overCapacity), .zero) }
            if isProbe {
                state.ledger.recordProbe(authorization: authorization)
                let decision = Self.probeDecision(key: key, state: &state, now: now)
                return (decision ?? Decision(status: 400, body: Body.missingFields), delay)
            }
            state.ledger.recordRequest(type: type.rawValue, authorization: authorization)
            if let fields {
                state.ledger.enter(users: CollectionOfOne(fields.user), now: now, until: now + delay)
            }
            let decision = self.decideReal(
                key: key, jsonContent: jsonContent, markers: fields.map { ($0.isRejectMarker, $0.isFailingUser) },
                unparsed: Decision(status: 400, body: Body.notAnObject), state: &state, now: now)
            state.ledger.recordResponse(status: decision.status)
            if let fields, decision.delivers {
                state.ledger.recordAccepted(user: fields.user, seq: fields.seq, messageID: fields.messageID)
            }
            return (decision, delay)
        }
        return Self.response(decision, delay: delay)
    }

    // MARK: - /sdk/batch

    private func handleBatch(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        let authorization = request.headers.first(name: "authorization")
        let key = JuneStubCredentials.batchKey(authorization)
        let jsonContent = request.headers.first(name: "content-type").map(Self.isJSONContentType) ?? false
        // Parse outside the lock.
        let parsed = key != nil && jsonContent ? JuneStubBatch.parse(request.body) : nil
        let batch = try? parsed?.get()
        let isProbe = batch?.items.isEmpty ?? false

        let (decision, delay): (Decision, Duration) = self.state.withLock { state in
            let now = ContinuousClock.now
            guard let delay = Self.admit(&state, now: now, isProbe: isProbe, type: nil, authorization: authorization)
            else { return (Decision(status: 429, body: Body.overCapacity), .zero) }
            if isProbe {
                state.ledger.recordProbe(authorization: authorization)
                let decision = Self.probeDecision(key: key, state: &state, now: now)
                return (decision ?? Decision(status: 200, body: Body.success), delay)
            }
            state.ledger.recordRequest(type: nil, authorization: authorization)
            if let batch {
                state.ledger.enter(users: batch.items.lazy.map(\.user), now: now, until: now + delay)
                for item in batch.items { state.ledger.recordReceived(user: item.user, messageID: item.messageID) }
            }
            let unparsed: Decision
            if case .failure(let refusal) = parsed {
                unparsed = Decision(status: 400, body: refusal.body)
            } else {
                unparsed = Decision(status: 400, body: Body.notAnObject)
            }
            let decision = self.decideReal(
                key: key, jsonContent: jsonContent,
                markers: batch.map { batch in (batch.items.contains { $0.isRejectMarker }, batch.items.contains { $0.isFailingUser }) },
                unparsed: unparsed, state: &state, now: now)
            state.ledger.recordResponse(status: decision.status)
            if !decision.forced {
                state.ledger.recordBatch(status: decision.status, items: batch?.items.count ?? 0)
            }
            if let batch, decision.delivers {
                for item in batch.items {
                    state.ledger.recordAccepted(user: item.user, seq: item.seq, messageID: item.messageID)
                }
            }
            return (decision, delay)
        }
        return Self.response(decision, delay: delay)
    }

    // MARK: - Capacity and the response

    /// The capacity gate, first for every `/api/*` and `/sdk/batch` request (before the auth check, as a
    /// limiter in front of June would be): the delay to answer after, or nil when the request is
    /// refused (counted here: as a probe, or as a request answered 429).
    private static func admit(
        _ state: inout State,
        now: ContinuousClock.Instant,
        isProbe: Bool,
        type: String?,
        authorization: String?
    ) -> Duration? {
        switch state.slots.admit(now: now) {
        case .served(let delay):
            state.latency.record(delay)
            return delay
        case .refused:
            state.ledger.recordCapacityRejection()
            if isProbe {
                state.ledger.recordProbe(authorization: authorization)
            } else {
                state.ledger.recordRequest(type: type, authorization: authorization)
                state.ledger.recordResponse(status: 429)
            }
            return nil
        }
    }

    private static func response(_ decision: Decision, delay: Duration) -> MiniHTTPResponse {
        var response = MiniHTTPResponse.json(decision.body, status: decision.status)
        if decision.status == 429 {
            response.headers.add(name: "Retry-After", value: "1")
        }
        response.delay = delay
        return response
    }
}
