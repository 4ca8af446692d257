import Logging
import MiniHTTPServer
import Pipeline
import Prometheus
import ServiceLifecycle

/// The relay's HTTP endpoints: `GET /metrics` (Prometheus text), `/healthz` (liveness: the fetch loop
/// turns and no Kafka client is fatal), `/readyz` (joined the group with an assignment, even an empty
/// one; not tied to June's health) and `/status` (JSON: mode, outage or refusal and since when,
/// partitions, in flight, buffered, uncommitted).
struct MetricsServer: Service {
    let port: Int
    let registry: PrometheusCollectorRegistry
    let pipeline: Pipeline
    let logger: Logger

    func run() async throws {
        let registry = self.registry
        let pipeline = self.pipeline
        let server = MiniHTTPServer(
            configuration: MiniHTTPServerConfiguration(host: "0.0.0.0", port: port),
            logger: logger
        ) { request in
            switch (request.method, request.path) {
            case ("GET", "/metrics"):
                return MiniHTTPResponse(
                    status: 200,
                    headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                    body: MetricsHelp.annotate(registry.emitToBuffer())
                )
            case ("GET", "/healthz"):
                if let reason = pipeline.unhealthyReason {
                    return MiniHTTPResponse(status: 503, body: Array("unhealthy: \(reason)\n".utf8))
                }
                return MiniHTTPResponse(status: 200, body: Array("ok\n".utf8))
            case ("GET", "/readyz"):
                return pipeline.isReady
                    ? MiniHTTPResponse(status: 200, body: Array("ready\n".utf8))
                    : MiniHTTPResponse(status: 503, body: Array("not ready\n".utf8))
            case ("GET", "/status"):
                return MiniHTTPResponse(
                    status: 200,
                    headers: ["Content-Type": "application/json"],
                    body: Array(pipeline.statusJSON().utf8)
                )
            default:
                return MiniHTTPResponse(status: 404, body: Array("not found\n".utf8))
            }
        }
        try await withGracefulShutdownHandler {
            try await server.run()
        } onGracefulShutdown: {
            Task { try? await server.shutdown() }
        }
    }
}
