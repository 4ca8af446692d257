import JuneTransform
import MiniHTTPServer
import Synchronization

/// The stub's request handling and state. Runs on event loops: every path is quick and non-blocking.
final class JuneStubResponder: Sendable {
    struct State: Sendable {
        var ledger = JuneStubLedger()
        var random: JuneStubRandom
        /// The accepted write key; nil accepts any non-empty key.
        var writeKey: String?
        /// Whether `stub:reject` events are refused (`POST /control/reject-hook`). Default: on.
        var rejectHook = true
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
    }

    let configuration: JuneStubConfiguration
    private let state: Mutex<State>

    init(configuration: JuneStubConfiguration) {
        self.configuration = configuration
        var seeder = SystemRandomNumberGenerator()
        let seed = configuration.seed ?? seeder.next()
        let writeKey = configuration.writeKey.flatMap { $0.isEmpty ? nil : $0 }
        self.state = Mutex(State(random: JuneStubRandom(seed: seed), writeKey: writeKey))
    }

    func handle(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        switch (request.method, request.path) {
        case ("POST", "/api/identify"): return self.handleEvent(request, type: .identify)
        case ("POST", "/api/track"): return self.handleEvent(request, type: .track)
        case ("POST", "/api/group"): return self.handleEvent(request, type: .group)
        case ("POST", "/api/page"): return self.handleEvent(request, type: .page)
        case ("POST", "/sdk/batch"): return self.handleBatch(request)
        case ("GET", "/stats"): return .json(self.stats().jsonBytes())
        case ("POST", "/stats/reset"):
            self.resetStats()
            return .json(#"{"reset":true}"#)
        case ("GET", "/events"): return self.handleEvents(request)
        case ("POST", "/control/outage"): return self.handleOutage(request)
        case ("POST", "/control/write-key"): return self.handleWriteKey(request)
        case ("GET", "/message-ids"): return self.handleMessageIDs(request)
        case ("POST", "/control/reject-hook"): return self.handleRejectHook(request)
        case ("GET", "/healthz"): return .text("ok")
        case (_, "/api/identify"), (_, "/api/track"), (_, "/api/group"), (_, "/api/page"), (_, "/sdk/batch"),
            (_, "/stats"), (_, "/stats/reset"), (_, "/events"), (_, "/control/outage"), (_, "/control/write-key"),
            (_, "/message-ids"), (_, "/control/reject-hook"), (_, "/healthz"):
            return .json(#"{"error":"method not allowed"}"#, status: 405)
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
        let now = ContinuousClock.now
        let until = now + self.configuration.latency

        let (status, body): (Int, [UInt8]) = self.state.withLock { state in
            if let fields, fields.isEmpty {
                state.ledger.recordProbe(authorization: authorization)
                return Self.probeDecision(key: key, state: state, now: now) ?? (400, Body.missingFields)
            }
            state.ledger.recordRequest(type: type.rawValue, authorization: authorization)
            if let fields {
                state.ledger.enter(users: CollectionOfOne(fields.user), now: now, until: until)
            }
            let decision: (Int, [UInt8])
            if let refusal = Self.authorizationRefusal(key: key, state: state) {
                decision = refusal
            } else if !jsonContent {
                decision = (400, Body.badContentType)
            } else if let fields {
                decision = self.decide(
                    rejectMarker: state.rejectHook && fields.isRejectMarker,
                    failingUser: fields.isFailingUser,
                    state: &state,
                    now: now
                )
            } else {
                decision = (400, Body.notAnObject)
            }
            state.ledger.recordResponse(status: decision.0)
            if let fields, (200..<300).contains(decision.0) {
                state.ledger.recordAccepted(user: fields.user, seq: fields.seq, messageID: fields.messageID)
            }
            return decision
        }
        return self.response(status: status, body: body)
    }

    // MARK: - /sdk/batch

    private func handleBatch(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        let authorization = request.headers.first(name: "authorization")
        let key = JuneStubCredentials.batchKey(authorization)
        let jsonContent = request.headers.first(name: "content-type").map(Self.isJSONContentType) ?? false
        // Parse outside the lock.
        let parsed = key != nil && jsonContent ? JuneStubBatch.parse(request.body) : nil
        let batch = try? parsed?.get()
        let now = ContinuousClock.now
        let until = now + self.configuration.latency

        let (status, body): (Int, [UInt8]) = self.state.withLock { state in
            if let batch, batch.items.isEmpty {
                state.ledger.recordProbe(authorization: authorization)
                return Self.probeDecision(key: key, state: state, now: now) ?? (200, Body.success)
            }
            state.ledger.recordRequest(type: nil, authorization: authorization)
            if let batch {
                state.ledger.enter(users: batch.items.lazy.map(\.user), now: now, until: until)
                for item in batch.items { state.ledger.recordReceived(user: item.user, messageID: item.messageID) }
            }
            let decision: (Int, [UInt8])
            if let refusal = Self.authorizationRefusal(key: key, state: state) {
                decision = refusal
            } else if !jsonContent {
                decision = (400, Body.badContentType)
            } else if let batch {
                decision = self.decide(
                    rejectMarker: state.rejectHook && batch.items.contains { $0.isRejectMarker },
                    failingUser: batch.items.contains { $0.isFailingUser },
                    state: &state,
                    now: now
                )
            } else if case .failure(let refusal) = parsed {
                decision = (400, refusal.body)
            } else {
                decision = (400, Body.notAnObject)
            }
            state.ledger.recordResponse(status: decision.0)
            state.ledger.recordBatch(status: decision.0, items: batch?.items.count ?? 0)
            if let batch, (200..<300).contains(decision.0) {
                for item in batch.items {
                    state.ledger.recordAccepted(user: item.user, seq: item.seq, messageID: item.messageID)
                }
            }
            return decision
        }
        return self.response(status: status, body: body)
    }

    // MARK: - Decisions

    private func response(status: Int, body: [UInt8]) -> MiniHTTPResponse {
        var response = MiniHTTPResponse.json(body, status: status)
        if status == 429 {
            response.headers.add(name: "Retry-After", value: "1")
        }
        response.delay = self.configuration.latency
        return response
    }

    /// 401 when the header carries no key, or not the configured one.
    private static func authorizationRefusal(key: String?, state: borrowing State) -> (Int, [UInt8])? {
        guard let key else { return (401, Body.unauthorized) }
        if let writeKey = state.writeKey, key != writeKey {
            return (401, Body.invalidWriteKey)
        }
        return nil
    }

    /// A probe is answered as June would, without fault injection: 401 for a wrong key, 503 during an
    /// outage; nil when it reached the endpoint (the caller answers what June says to that body).
    private static func probeDecision(
        key: String?,
        state: borrowing State,
        now: ContinuousClock.Instant
    ) -> (Int, [UInt8])? {
        if let refusal = Self.authorizationRefusal(key: key, state: state) {
            return refusal
        }
        if state.ledger.isInOutage(now: now) {
            return (503, Body.outage)
        }
        return nil
    }

    private func decide(
        rejectMarker: Bool,
        failingUser: Bool,
        state: inout State,
        now: ContinuousClock.Instant
    ) -> (Int, [UInt8]) {
        if state.ledger.isInOutage(now: now) {
            return (503, Body.outage)
        }
        if rejectMarker {
            return (400, Body.rejectedByStub)
        }
        if failingUser {
            return (503, Body.failingUser)
        }
        let throttleRate = self.configuration.throttleRate
        let failRate = self.configuration.failRate
        if throttleRate > 0 || failRate > 0 {
            let draw = Double.random(in: 0..<1, using: &state.random)
            if draw < throttleRate {
                return (429, Body.throttled)
            }
            if draw < throttleRate + failRate {
                return (503, Body.injectedFailure)
            }
        }
        return (200, Body.success)
    }

    static func isJSONContentType(_ value: String) -> Bool {
        let mediaType = value.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingWhitespace().lowercased() == "application/json"
    }

    // MARK: - Control and inspection

    private func handleEvents(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let user = request.queryParameter("user") else {
            return .json(#"{"error":"missing user parameter"}"#, status: 400)
        }
        guard let seqs = self.state.withLock({ $0.ledger.arrivals(user: user) }) else {
            return .json(#"{"error":"no accepted events for this user"}"#, status: 404)
        }
        let list = seqs.map(String.init).joined(separator: ",")
        return .json(#"{"user":\#(Self.jsonString(user)),"seqs":[\#(list)]}"#)
    }

    private func handleOutage(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let text = request.queryParameter("seconds"), let seconds = Double(text), seconds >= 0,
            seconds.isFinite, seconds < 1e9
        else {
            return .json(#"{"error":"seconds must be a non-negative number"}"#, status: 400)
        }
        self.setOutage(for: .milliseconds(Int64(seconds * 1000)))
        return .json(#"{"outageSeconds":\#(text)}"#)
    }

    private func handleWriteKey(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let key = request.queryParameter("key") else {
            return .json(#"{"error":"missing key parameter (empty accepts any key)"}"#, status: 400)
        }
        self.setWriteKey(key)
        return .json(key.isEmpty ? #"{"writeKeyCheck":false}"# : #"{"writeKeyCheck":true}"#)
    }

    func messageIDsReceived(user: String) -> [String]? {
        self.state.withLock { $0.ledger.messageIDsReceived(user: user) }
    }

    func setRejectHook(_ enabled: Bool) {
        self.state.withLock { $0.rejectHook = enabled }
    }

    /// Accept only `key` from now on; nil or empty accepts any non-empty key.
    func setWriteKey(_ key: String?) {
        let key = key.flatMap { $0.isEmpty ? nil : $0 }
        self.state.withLock { $0.writeKey = key }
    }

    func setOutage(for duration: Duration) {
        let now = ContinuousClock.now
        self.state.withLock { $0.ledger.setOutage(for: duration, now: now) }
    }

    func stats() -> JuneStubStats {
        self.state.withLock { $0.ledger.stats }
    }

    func acceptedSeqs(user: String) -> [Int] {
        self.state.withLock { $0.ledger.arrivals(user: user) } ?? []
    }

    func resetStats() {
        self.state.withLock { $0.ledger.reset() }
    }

    /// A JSON string literal for `text`.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
