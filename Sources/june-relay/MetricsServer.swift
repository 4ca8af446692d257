import Logging
import MiniHTTPServer
import Pipeline
import Prometheus
import ServiceLifecycle

/// Spec §8: `GET /metrics` (Prometheus text), `/healthz` (200 while running), `/readyz` (200 when
/// partitions are assigned and June is not in an outage).
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
                return MiniHTTPResponse(status: 200, body: Array("ok\n".utf8))
            case ("GET", "/readyz"):
                return pipeline.isReady
                    ? MiniHTTPResponse(status: 200, body: Array("ready\n".utf8))
                    : MiniHTTPResponse(status: 503, body: Array("not ready\n".utf8))
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
