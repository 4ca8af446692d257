import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The processes of one end-to-end test: a dev broker, a June stub and relays, all the built binary.
/// Every child is stopped (SIGTERM, then SIGKILL) when the test ends, whatever happened; when the test
/// failed, the tails of every child's logs are printed.
package final class Harness: @unchecked Sendable {
    // @unchecked: a harness belongs to one test body; `children` and `failed` are guarded by `lock`.
    package let testName: String
    package let logDirectory: URL
    package let binary: URL
    private let lock = NSLock()
    private var children: [ChildProcess] = []
    private var failed = false
    private var counter = 0

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
        package init(description: String) { self.description = description }
    }

    private init(testName: String) throws {
        self.testName = testName
        self.binary = try Self.locateBinary()
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("june-relay-e2e", isDirectory: true)
        self.logDirectory = base.appendingPathComponent("\(testName)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
    }

    /// Runs `body` with a fresh harness; stops every child afterwards and prints their log tails on failure.
    package static func run(_ testName: String, _ body: (Harness) async throws -> Void) async throws {
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

    /// The binary under test: see ``RepositoryFiles/requireBinary()``.
    package static func locateBinary() throws -> URL {
        try RepositoryFiles.requireBinary()
    }

    /// See ``ChildProcess/childEnvironment(_:)``.
    package static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        ChildProcess.childEnvironment(extra)
    }

    // MARK: - Children

    package func launch(
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
    package func startBroker(topics: [String], partitions: Int = 4, extraArguments: [String] = []) async throws -> String {
        try await startBrokerProcess(topics: topics, partitions: partitions, extraArguments: extraArguments).bootstrap
    }

    /// ``startBroker(topics:partitions:extraArguments:)``, also returning its process (to signal it).
    package func startBrokerProcess(
        topics: [String],
        partitions: Int = 4,
        extraArguments: [String] = []
    ) async throws -> (process: ChildProcess, bootstrap: String) {
        var arguments = ["dev-broker", "--partitions", String(partitions)] + extraArguments
        for topic in topics { arguments += ["--topic", topic] }
        let broker = try launch("dev-broker", arguments)
        let bootstrap = try await broker.firstStdoutLine(timeout: .seconds(20))
        guard bootstrap.contains(":") else { throw Failure(description: "dev-broker printed \"\(bootstrap)\", not a bootstrap list") }
        return (broker, bootstrap)
    }

    /// `june-stub --port 0` with extra flags; returns its client.
    package func startStub(_ extraArguments: [String] = []) async throws -> StubClient {
        let stub = try launch("june-stub", ["june-stub", "--port", "0"] + extraArguments)
        let url = try await stub.firstStdoutLine(timeout: .seconds(20))
        guard url.hasPrefix("http://") else { throw Failure(description: "june-stub printed \"\(url)\", not a URL") }
        return StubClient(baseURL: url)
    }

    /// `june-relay run` with `JUNE_WRITE_KEY` set.
    package func startRelay(
        name: String = "relay",
        brokers: String,
        topic: String,
        group: String,
        juneURL: String,
        writeKey: String,
        metricsPort: Int = 0,
        extraArguments: [String] = []
    ) throws -> ChildProcess {
        let arguments =
            [
                "run", "--brokers", brokers, "--topic", topic, "--group", group, "--june-url", juneURL,
                "--metrics-port", String(metricsPort),
            ] + extraArguments
        return try launch(name, arguments, environment: ["JUNE_WRITE_KEY": writeKey])
    }

    /// Runs `june-relay <arguments>` to completion (a tool such as `offsets show`); returns its exit code
    /// and output. A tool still running after `timeout` is interrupted and the call throws.
    package func runTool(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try launch(arguments.prefix(2).joined(separator: "-"), arguments)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdoutText, child.stderrText)
    }

    // MARK: - Failure reporting

    package func markFailed() {
        lock.withLock { failed = true }
    }

    /// Records an issue (like `#expect`) and remembers the failure so the children's logs get printed.
    @discardableResult
    package func check(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !condition {
            markFailed()
            Issue.record(Comment(rawValue: comment()), sourceLocation: sourceLocation)
        }
        return condition
    }

    /// Like `#require`: records the issue and throws.
    package func require(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) throws {
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
    package static func freePort() throws -> Int {
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
