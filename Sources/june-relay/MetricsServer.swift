import Logging
import MiniHTTPServer
import Pipeline
import Prometheus
import ServiceLifecycle
import Synchronization

/// The relay's HTTP endpoints: `GET /metrics` (Prometheus text), `/healthz` (liveness: the fetch loop
/// turns and no Kafka client is fatal), `/readyz` (joined the group with an assignment, even an empty
/// one; not tied to June's health) and `/status` (JSON: mode, outage or refusal and since when,
/// partitions, in flight, buffered, uncommitted).
///
/// The port is bound by ``bind()`` first thing at start-up, before any Kafka client exists (relay-spec
/// §8, no half-started process); the pipeline is attached once it is built. Until then `/readyz` and
/// `/status` answer 503 and `/healthz` 200 ("starting": the process is alive and checking).
final class MetricsServer: Service, Sendable {
    let port: Int
    private let server: MiniHTTPServer
    private let slot: PipelineSlot
    private let logger: Logger

    init(port: Int, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.port = port
        self.logger = logger
        let slot = PipelineSlot()
        self.slot = slot
        self.server = MiniHTTPServer(
            configuration: MiniHTTPServerConfiguration(host: "0.0.0.0", port: port),
            logger: logger
        ) { request in
            Self.respond(to: request, registry: registry, pipeline: slot.pipeline.withLock { $0 })
        }
    }

    /// Binds the listening socket. A failure names the port and, when it can be found, what holds it.
    func bind() async throws(MetricsPortUnavailable) {
        do {
            try await server.start()
        } catch {
            throw MetricsPortUnavailable(port: port, holder: PortHolder.find(tcpPort: port), underlying: error)
        }
    }

    /// The pipeline whose state the endpoints report.
    func attach(_ pipeline: Pipeline) {
        slot.pipeline.withLock { $0 = pipeline }
    }

    /// Closes the socket (a start-up check after the bind failed).
    func close() async {
        try? await server.shutdown()
    }

    /// Serves until the group's graceful shutdown or cancellation. If the listening socket closes on its
    /// own (an accept error closed the server channel), that is a failure: the relay must not run on
    /// without its health and readiness endpoints, so this throws and the group shuts down (relay-spec §8).
    func run() async throws {
        // `server.run()` closes the socket on the group's graceful shutdown or on cancellation, and returns
        // whenever the listening socket closed.
        try await server.run()
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            let error = MetricsServerStopped(port: port)
            logger.error("The metrics server failed: stopping the relay", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private static func respond(to request: MiniHTTPRequest, registry: PrometheusCollectorRegistry, pipeline: Pipeline?) -> MiniHTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/metrics"):
            return MiniHTTPResponse(
                status: 200,
                headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: MetricsHelp.annotate(registry.emitToBuffer())
            )
        case ("GET", "/healthz"):
            guard let pipeline else { return MiniHTTPResponse(status: 200, body: Array("starting\n".utf8)) }
            if let reason = pipeline.unhealthyReason {
                return MiniHTTPResponse(status: 503, body: Array("unhealthy: \(reason)\n".utf8))
            }
            return MiniHTTPResponse(status: 200, body: Array("ok\n".utf8))
        case ("GET", "/readyz"):
            return pipeline?.isReady == true
                ? MiniHTTPResponse(status: 200, body: Array("ready\n".utf8))
                : MiniHTTPResponse(status: 503, body: Array("not ready\n".utf8))
        case ("GET", "/status"):
            guard let pipeline else { return MiniHTTPResponse(status: 503, body: Array("starting\n".utf8)) }
            return MiniHTTPResponse(
                status: 200,
                headers: ["Content-Type": "application/json"],
                body: Array(pipeline.statusJSON().utf8)
            )
        default:
            return MiniHTTPResponse(status: 404, body: Array("not found\n".utf8))
        }
    }
}

/// The pipeline, once built, shared by the server and its request handler.
private final class PipelineSlot: Sendable {
    let pipeline = Mutex<Pipeline?>(nil)
}

/// The metrics server's listening socket closed while the relay ran (not at shutdown).
struct MetricsServerStopped: Error, CustomStringConvertible {
    var port: Int
    var description: String {
        "the metrics server on --metrics-port \(port) stopped accepting connections (its listening socket closed)"
    }
}

/// The metrics port could not be bound: a start-up error (exit 2) naming the port and its holder.
struct MetricsPortUnavailable: Error, CustomStringConvertible {
    var port: Int
    var holder: PortHolder?
    var underlying: any Error

    var description: String {
        let held = holder.map { "; it is held by \($0)" } ?? "; the process holding it could not be found"
        return "cannot bind --metrics-port \(port) (\(underlying))\(held). "
            + "Choose a free port with --metrics-port (0 turns the endpoints off)."
    }
}
