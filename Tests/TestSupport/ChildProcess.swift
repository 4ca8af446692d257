import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One child process of the built binary (`dev-broker`, `june-stub`, `run`, `offsets show`, …), with its
/// stdout and stderr written to files (files rather than pipes: a chatty child can never block on a full
/// pipe, and the logs stay on disk for a failed test).
///
/// Inside an end-to-end test, start children through ``Harness/launch(_:_:environment:executable:)``,
/// which stops them all when the test ends. ``init(_:_:environment:name:)`` and ``run(_:_:environment:timeout:)``
/// start one outside a harness (the caller stops it).
package final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is a class Foundation does not mark Sendable; this wrapper only reads its
    // pid/isRunning/terminationStatus (thread-safe in swift-corelibs-foundation) and signals it after
    // `run()`; every other property is immutable.
    package let name: String
    package let stdoutURL: URL
    package let stderrURL: URL
    package let arguments: [String]
    private let process: Process

    package struct LaunchError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Starts `executable` with exactly `environment`, logging to `<logDirectory>/<name>.stdout.log` and
    /// `.stderr.log`.
    package init(name: String, executable: URL, arguments: [String], environment: [String: String], logDirectory: URL) throws {
        self.name = name
        self.arguments = arguments
        stdoutURL = logDirectory.appendingPathComponent("\(name).stdout.log")
        stderrURL = logDirectory.appendingPathComponent("\(name).stderr.log")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        self.process = process
        try process.run()
    }

    /// Starts `executable` outside a harness: logs in a fresh temporary directory, the environment of
    /// ``childEnvironment(_:)``.
    package convenience init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], name: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("june-relay-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try self.init(
            name: name, executable: executable, arguments: arguments,
            environment: Self.childEnvironment(environment), logDirectory: directory
        )
    }

    /// The test runner's environment without anything that could change a child's behaviour
    /// (`JUNE_RELAY_*` variables, a write key), plus `extra`.
    package static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !key.hasPrefix("JUNE_RELAY_") && key != "JUNE_WRITE_KEY"
        }
        environment.merge(extra) { _, new in new }
        return environment
    }

    package var pid: Int32 { process.processIdentifier }
    package var isRunning: Bool { process.isRunning }

    /// The exit status, or `nil` while running. A death by signal is reported as `128 + signal`.
    package var exitCode: Int32? {
        guard !process.isRunning else { return nil }
        switch process.terminationReason {
        case .exit: return process.terminationStatus
        case .uncaughtSignal: return 128 + process.terminationStatus
        @unknown default: return process.terminationStatus
        }
    }

    package var stdoutText: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    package var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    /// Short forms of ``stdoutText`` and ``stderrText``.
    package var stdout: String { stdoutText }
    package var stderr: String { stderrText }

    /// Waits for the first complete stdout line (the bootstrap list or the stub URL).
    package func firstStdoutLine(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stdoutText
            if let newline = text.firstIndex(of: "\n") {
                return String(text[..<newline]).trimmingCharacters(in: .whitespaces)
            }
            if !isRunning {
                throw LaunchError(description: "\(name) exited (\(exitCode ?? -1)) before printing a line; stderr:\n\(tail(stderrText, lines: 20))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LaunchError(description: "\(name) printed no stdout line within \(timeout)")
    }

    /// ``firstStdoutLine(timeout:)``.
    package func firstLine(timeout: Duration = .seconds(20)) async throws -> String {
        try await firstStdoutLine(timeout: timeout)
    }

    /// Waits until the process has exited; returns its exit code, or `nil` if it is still running at the deadline.
    @discardableResult
    package func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return exitCode
    }

    /// Waits for the exit and returns the exit code; at the deadline, interrupts the child and throws.
    @discardableResult
    package func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        if let code = try await waitForExit(timeout: timeout) { return code }
        signal(SIGINT)
        throw ChildProcessError("\(name) did not exit within \(timeout); stderr:\n\(stderrText.suffix(2_000))")
    }

    /// SIGTERM, then waits for the exit (see ``wait(timeout:)``).
    @discardableResult
    package func terminate(timeout: Duration = .seconds(30)) async throws -> Int32 {
        signal(SIGTERM)
        return try await wait(timeout: timeout)
    }

    /// SIGKILL if still running (cleanup).
    package func kill() {
        signal(SIGKILL)
    }

    package func signal(_ signal: Int32) {
        if isRunning { _ = Glibc.kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL after `grace`. Synchronous (usable from `defer`). Returns the exit code.
    @discardableResult
    package func stop(grace: Duration = .seconds(5)) -> Int32? {
        if isRunning {
            signal(SIGTERM)
            let deadline = ContinuousClock.now + grace
            while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
            if isRunning {
                signal(SIGKILL)
                let killDeadline = ContinuousClock.now + .seconds(5)
                while isRunning, ContinuousClock.now < killDeadline { usleep(10_000) }
            }
        }
        return exitCode
    }

    /// The last lines of stdout and stderr, for a failed test's report.
    package func logTail(lines: Int = 40) -> String {
        """
        ----- \(name) (pid \(pid), exit \(exitCode.map(String.init) ?? "running")): \(arguments.joined(separator: " "))
        --- stdout (last \(lines) lines):
        \(tail(stdoutText, lines: lines))
        --- stderr (last \(lines) lines):
        \(tail(stderrText, lines: lines))
        """
    }

    /// Runs `executable` to completion outside a harness: (exit code, stdout, stderr).
    package static func run(
        _ executable: URL,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, name: arguments.prefix(2).joined(separator: "-"))
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdoutText, child.stderrText)
    }
}

package struct ChildProcessError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// The last `lines` lines of `text`.
package func tail(_ text: String, lines: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}
