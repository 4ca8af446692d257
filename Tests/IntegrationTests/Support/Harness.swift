import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The processes of one end-to-end test: a dev broker, a June stub and relays, all the built binary.
/// Every child is stopped (SIGTERM, then SIGKILL) when the test ends, whatever happened; when the test
/// failed, the tails of every child's logs are printed.
final class Harness: @unchecked Sendable {
    // @unchecked: a harness belongs to one test body; `children` and `failed` are guarded by `lock`.
    let testName: String
    let logDirectory: URL
    let binary: URL
    private let lock = NSLock()
    private var children: [ChildProcess] = []
    private var failed = false
    private var counter = 0

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private init(testName: String) throws {
        self.testName = testName
        self.binary = try Self.locateBinary()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("june-relay-e2e", isDirectory: true)
        self.logDirectory = base.appendingPathComponent("\(testName)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
    }

    /// Runs `body` with a fresh harness; stops every child afterwards and prints their log tails on failure.
    static func run(_ testName: String, _ body: (Harness) async throws -> Void) async throws {
        let harness = try Harness(testName: testName)
        defer { harness.finish() }
        do {
            try await body(harness)
        } catch {
            harness.markFailed()
            throw error
        }
    }

    // MARK: - Binary

    /// `JUNE_RELAY_BIN`, else `<repo>/.build/debug/june-relay` (repo root derived from this file's path).
    static func locateBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["JUNE_RELAY_BIN"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw Failure(description: "JUNE_RELAY_BIN=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path)
        }
        let repo = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // IntegrationTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repo root
        let binary = repo.appendingPathComponent(".build/debug/june-relay")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw Failure(
                description: """
                    june-relay binary not found at \(binary.path): run `swift build --product june-relay` first \
                    or set JUNE_RELAY_BIN to the binary to test
                    """
            )
        }
        return binary
    }

    /// The test runner's environment without anything that could change the children's behaviour
    /// (`JUNE_RELAY_*` flags, a write key), plus `extra`.
    static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("JUNE_RELAY_") && key != "JUNE_WRITE_KEY"
        }
        environment.merge(extra) { _, new in new }
        return environment
    }

    // MARK: - Children

    func launch(
        _ name: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        executable: URL? = nil
    ) throws -> ChildProcess {
        let uniqueName: String = lock.withLock {
            counter += 1
            return String(format: "%02d-", counter) + name
        }
        let child = try ChildProcess(
            name: uniqueName,
            executable: executable ?? binary,
            arguments: arguments,
            environment: Self.childEnvironment(environment),
            logDirectory: logDirectory
        )
        lock.withLock { children.append(child) }
        return child
    }

    /// `dev-broker` with the topics; returns the bootstrap list.
    func startBroker(topics: [String], partitions: Int = 4) async throws -> String {
        var arguments = ["dev-broker", "--partitions", String(partitions)]
        for topic in topics { arguments += ["--topic", topic] }
        let broker = try launch("dev-broker", arguments)
        let bootstrap = try await broker.firstStdoutLine(timeout: .seconds(20))
        guard bootstrap.contains(":") else { throw Failure(description: "dev-broker printed \"\(bootstrap)\", not a bootstrap list") }
        return bootstrap
    }

    /// `june-stub --port 0` with extra flags; returns its client.
    func startStub(_ extraArguments: [String] = []) async throws -> StubClient {
        let stub = try launch("june-stub", ["june-stub", "--port", "0"] + extraArguments)
        let url = try await stub.firstStdoutLine(timeout: .seconds(20))
        guard url.hasPrefix("http://") else { throw Failure(description: "june-stub printed \"\(url)\", not a URL") }
        return StubClient(baseURL: url)
    }

    /// `june-relay run` with `JUNE_WRITE_KEY` set.
    func startRelay(
        name: String = "relay",
        brokers: String,
        topic: String,
        group: String,
        juneURL: String,
        writeKey: String,
        metricsPort: Int = 0,
        extraArguments: [String] = []
    ) throws -> ChildProcess {
        let arguments = [
            "run", "--brokers", brokers, "--topic", topic, "--group", group, "--june-url", juneURL,
            "--metrics-port", String(metricsPort),
        ] + extraArguments
        return try launch(name, arguments, environment: ["JUNE_WRITE_KEY": writeKey])
    }

    // MARK: - Failure reporting

    func markFailed() {
        lock.withLock { failed = true }
    }

    /// Records an issue (like `#expect`) and remembers the failure so the children's logs get printed.
    @discardableResult
    func check(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !condition {
            markFailed()
            Issue.record(Comment(rawValue: comment()), sourceLocation: sourceLocation)
        }
        return condition
    }

    /// Like `#require`: records the issue and throws.
    func require(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if !condition {
            let text = comment()
            markFailed()
            Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
            throw Failure(description: text)
        }
    }

    private func finish() {
        let (children, failed) = lock.withLock { (self.children, self.failed) }
        // Relays first, the broker last, so relays can leave their group cleanly.
        for child in children.reversed() { child.stop(grace: .seconds(5)) }
        if failed {
            var report = "===== \(testName) failed; child logs in \(logDirectory.path)\n"
            for child in children { report += child.logTail() + "\n" }
            print(report)
        } else {
            try? FileManager.default.removeItem(at: logDirectory)
        }
    }

    // MARK: - Ports

    /// A TCP port that was free a moment ago (bind to port 0, read it back, close).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Failure(description: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A unique suffix for topic and group names.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Polls `condition` until it returns true or `timeout` passes; returns whether it became true.
func eventually(
    timeout: Duration,
    every interval: Duration = .milliseconds(200),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}
