import Logging
import MiniHTTPServer
import ServiceLifecycle

/// A local stand-in for June's tracking API (`june-relay june-stub`): same paths and auth, optional latency
/// and fault injection; counts what it receives and checks per-user order.
///
/// Endpoints:
/// - `POST /api/identify|track|group|page` — RudderStack's per-event endpoints. Need
///   `Authorization: Basic <key>` (the raw write key; else 401), `Content-Type: application/json` and a
///   JSON-object body (else 400). Then: forced outage → 503; test hooks (below); `throttleRate` → 429 with
///   `Retry-After: 1`; `failRate` → 503; otherwise 200 `{"success":true}`.
/// - `POST /sdk/batch` — the endpoint June's SDKs use: `Authorization: Basic <base64 of "<key>:">` and
///   `{"batch":[item, …],"sentAt":"…"}`, each item a June body plus `"type"` (identify, track, group,
///   page) and `"messageId"` (a non-empty string). Accepted or refused whole: 400 with `{"error":…}` for a
///   body over 500,000 bytes, not an object, without a `batch` array, with an invalid item, or with a
///   `stub:reject` item; then the same outage, hooks and fault injection as one request. When accepted,
///   every item is counted like a per-event request.
/// - `GET /stats` → `JuneStubStats` JSON; `POST /stats/reset` clears it.
/// - `GET /events?user=U` → `{"user":"U","seqs":[…]}`: accepted seqs for that user in arrival order (404 if none).
/// - `POST /control/outage?seconds=N` — every `/api` and `/sdk/batch` request answers 503 for N seconds;
///   `N=0` ends it.
/// - `POST /control/write-key?key=K` — accept only write key `K` from now on (401
///   `{"error":"invalid write key"}` for others); `key=` (empty) accepts any non-empty key again.
/// - `POST /control/answer?status=N[&seconds=S][&events-only=1]` — every `/api` and `/sdk/batch` request
///   that passes the auth check (real events and probes) is answered N (200–599; 429 with
///   `Retry-After: 1`) for S seconds, or until `status=0`; with `events-only=1` only requests carrying a
///   real event (not `{}`, not an empty batch) are, probes are answered as usual. Nothing answered this
///   way is recorded as accepted; counted in `forcedAnswers`.
/// - `GET /message-ids?user=U` → `{"user":"U","messageIds":[…]}`: messageIds of every batch item of that
///   user received, accepted or refused, in arrival order (404 if none).
/// - `POST /control/reject-hook?enabled=false|true` — turn the `stub:reject` hook off (or on again).
/// - `GET /healthz` → 200.
///
/// Capacity (`JuneStubConfiguration.capacity`), checked first for every `/api` and `/sdk/batch` request,
/// probes included: `.queue(N)` serves N at once and the rest wait in arrival order for a slot;
/// `.reject(N)` answers 429 with `Retry-After: 1` at once beyond N (`capacityRejections`). A served
/// request holds its slot for `latency` and is answered at arrival + queue wait + latency (the
/// `latency` stats); the outcome is decided on arrival.
///
/// Probes — `{}` to `/api/*`, a batch with no items — are answered as June would (401 for a wrong key,
/// 503 during an outage, else 400 for `{}` and 200 for the empty batch), never fault-injected, and
/// counted only in `probes`.
///
/// Deterministic test hooks (whatever the rates; the first can be turned off):
/// - an event whose `event` field is `"stub:reject"` → 400 `{"error":"rejected by stub"}` (a batch holding
///   one is refused whole, so a client that splits refused batches isolates it);
/// - an event whose `userId` starts with `"stub-fail-"` → 503.
///
/// Order check: user = body `userId` (string or number text), else `anonymousId`; seq = integer at
/// `properties.seq`, else `traits.seq`, else `context.seq`. For each accepted event with both: a (user, seq)
/// accepted before counts as a duplicate; otherwise a seq below that user's highest accepted seq counts as an
/// order violation. An accepted `messageId` seen before counts in `duplicateMessageIds`. A user arriving in
/// a request while a request of theirs is still being answered counts in `concurrentUserViolations`.
public final class JuneStub: Service, Sendable {
    public let configuration: JuneStubConfiguration
    private let responder: JuneStubResponder
    private let logger: Logger
    private let server: MiniHTTPServer

    public init(configuration: JuneStubConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let responder = JuneStubResponder(configuration: configuration)
        self.responder = responder
        // The handler runs on the event loop (it never blocks); latency uses event-loop timers.
        self.server = MiniHTTPServer(
            configuration: MiniHTTPServerConfiguration(host: configuration.host, port: configuration.port),
            logger: logger,
            synchronousHandler: { request in responder.handle(request) }
        )
    }

    /// The bound port once started (useful with port 0), otherwise the configured one.
    public var port: Int { self.server.port }

    /// Binds the port; afterwards `port` is the bound port.
    public func start() async throws {
        try await self.server.start()
        self.logger.info(
            "June stub listening",
            metadata: [
                "http.port": "\(self.port)",
                "stub.latency": "\(self.configuration.latency)",
                "stub.fail_rate": "\(self.configuration.failRate)",
                "stub.throttle_rate": "\(self.configuration.throttleRate)",
                "stub.capacity": "\(self.configuration.capacity)",
            ]
        )
    }

    /// Starts if needed and serves until `shutdown()`, the service group's graceful shutdown or
    /// cancellation of the calling task (its ``MiniHTTPServer`` is a `Service`).
    public func run() async throws {
        try await self.start()
        try await self.server.run()
    }

    public func shutdown() async throws {
        try await self.server.shutdown()
    }

    /// A snapshot of the counters (same as `GET /stats`).
    public func stats() -> JuneStubStats {
        self.responder.stats()
    }

    /// Accepted seqs for `user`, in arrival order.
    public func acceptedSeqs(user: String) -> [Int] {
        self.responder.acceptedSeqs(user: user)
    }

    /// Clears counters and order state.
    public func resetStats() {
        self.responder.resetStats()
    }

    /// Accept only `key` from now on (401 for any other); nil or empty accepts any non-empty key.
    public func setWriteKey(_ key: String?) {
        self.responder.setWriteKey(key)
    }

    /// Starts (`duration > 0`) or ends (`.zero`) a forced outage: every `/api` and `/sdk/batch` request
    /// answers 503 meanwhile.
    public func setOutage(for duration: Duration) {
        self.responder.setOutage(for: duration)
    }

    /// Answers every `/api` and `/sdk/batch` request that passes the auth check with `status` (as
    /// `POST /control/answer`) for `duration` (nil: until `clearForcedAnswer()`); with `eventsOnly`,
    /// probes are answered as usual.
    public func setForcedAnswer(status: Int, for duration: Duration? = nil, eventsOnly: Bool = false) {
        self.responder.setForcedAnswer(status: status, for: duration, eventsOnly: eventsOnly)
    }

    /// Ends a forced answer.
    public func clearForcedAnswer() {
        self.responder.clearForcedAnswer()
    }

    /// Answers one request without a socket (what the server calls; handy in tests).
    public func handle(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        self.responder.handle(request)
    }
}
