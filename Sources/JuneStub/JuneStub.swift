import Logging
import MiniHTTPServer

/// A local stand-in for June's tracking API (spec §7 `june-stub`): same paths and auth, optional latency and
/// fault injection; counts what it receives and checks per-user order.
///
/// Endpoints:
/// - `POST /api/identify|track|group|page` — needs `Authorization: Basic <non-empty>` (else 401),
///   `Content-Type: application/json` and a JSON-object body (else 400). Then, after `latency`:
///   forced outage → 503; test hooks (below); `throttleRate` → 429 with `Retry-After: 1`; `failRate` → 503;
///   otherwise 200 `{"success":true}`. The outcome is decided on arrival; only the response waits.
/// - `GET /stats` → `JuneStubStats` JSON; `POST /stats/reset` clears it.
/// - `GET /events?user=U` → `{"user":"U","seqs":[…]}`: accepted seqs for that user in arrival order (404 if none).
/// - `POST /control/outage?seconds=N` — every `/api` request answers 503 for N seconds; `N=0` ends it.
/// - `GET /healthz` → 200.
///
/// Deterministic test hooks (always, whatever the rates):
/// - an event whose body `event` field is `"stub:reject"` → 400 `{"error":"rejected by stub"}`;
/// - an event whose `userId` starts with `"stub-fail-"` → 503.
///
/// Order check: user = body `userId` (string or number text), else `anonymousId`; seq = integer at
/// `properties.seq`, else `traits.seq`, else `context.seq`. For each accepted event with both: a (user, seq)
/// accepted before counts as a duplicate; otherwise a seq below that user's highest accepted seq counts as an
/// order violation.
public final class JuneStub: Sendable {
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
            ]
        )
    }

    /// Starts if needed and serves until `shutdown()` (or cancellation of the calling task).
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

    /// Starts (`duration > 0`) or ends (`.zero`) a forced outage: every `/api` request answers 503 meanwhile.
    public func setOutage(for duration: Duration) {
        self.responder.setOutage(for: duration)
    }

    /// Answers one request without a socket (what the server calls; handy in tests).
    public func handle(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        self.responder.handle(request)
    }
}
