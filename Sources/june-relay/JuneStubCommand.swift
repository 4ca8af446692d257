import ArgumentParser
import Foundation
import JuneStub
import Logging
import ServiceLifecycle

/// `june-relay june-stub`: a local stand-in for June's API (per-event endpoints and `/sdk/batch`) with
/// latency and fault injection.
struct JuneStubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "june-stub",
        abstract: "Run a local June API stand-in that counts requests and checks per-user order (GET /stats)."
    )

    @Option(help: "Address to listen on (0.0.0.0 for every interface, e.g. in a container).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 = any free port; the bound port is printed first on stdout).")
    var port = 8080

    @Option(help: "Added latency per request in milliseconds.")
    var latencyMs = 0

    @Option(help: "Fraction of requests answered 503.")
    var failRate = 0.0

    @Option(help: "Fraction of requests answered 429 with Retry-After: 1.")
    var throttleRate = 0.0

    @Option(help: "Accept only this write key (others get 401); without it any non-empty key is accepted.")
    var writeKey: String?

    @Option(help: "Serve at most N requests at once; the others wait in arrival order for a slot (each served request holds one for --latency-ms).")
    var capacity: Int?

    @Option(name: .customLong("capacity-429"), help: "Serve at most N requests at once; answer the others 429 with Retry-After: 1 at once.")
    var capacity429: Int?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if capacity != nil, capacity429 != nil {
            throw ValidationError("--capacity and --capacity-429 exclude each other (queue or refuse beyond N).")
        }
        if let limit = capacity ?? capacity429, limit < 1 {
            throw ValidationError("--capacity and --capacity-429 must be at least 1.")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "june-relay.june-stub")
        var configuration = JuneStubConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.latency = .milliseconds(latencyMs)
        configuration.failRate = failRate
        configuration.throttleRate = throttleRate
        configuration.writeKey = writeKey
        if let capacity {
            configuration.capacity = .queue(capacity)
        } else if let capacity429 {
            configuration.capacity = .reject(capacity429)
        }
        let stub = JuneStub(configuration: configuration, logger: logger)
        try await stub.start()
        Console.printLine("http://127.0.0.1:\(stub.port)")
        try await ServeUntilTerminated.run([stub], logger: logger)
    }
}
