import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the services of a development command (`june-stub`, `dev-broker`) until SIGTERM or SIGINT, then
/// shuts them down gracefully and returns, so the command exits 0.
enum ServeUntilTerminated {
    static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// A service that holds its process open until graceful shutdown: the dev broker's cluster lives on
/// librdkafka's own threads and needs nothing from Swift but to stay alive.
struct HoldUntilShutdown: Service {
    func run() async throws {
        // Cancellation ends the wait as well; either way the service is done.
        try? await gracefulShutdown()
    }
}
