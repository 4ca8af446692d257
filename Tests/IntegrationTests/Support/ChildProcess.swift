import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One child process of the built binary (`dev-broker`, `june-stub`, `run`, …), with its stdout and
/// stderr written to files in the test's log directory (files rather than pipes: a chatty child can
/// never block on a full pipe, and the logs stay on disk for a failed test).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `Process` is a class Foundation does not mark Sendable; this wrapper only reads its
    // pid/isRunning/terminationStatus (thread-safe in swift-corelibs-foundation) after `run()`.
    let name: String
    let stdoutURL: URL
    let stderrURL: URL
    let arguments: [String]
    private let process: Process

    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    init(name: String, executable: URL, arguments: [String], environment: [String: String], logDirectory: URL) throws {
        self.name = name
        self.arguments = arguments
        stdoutURL = logDirectory.appendingPathComponent("\(name).stdout.log")
        stderrURL = logDirectory.appendingPathComponent("\(name).stderr.log")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
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

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The exit status, or `nil` while running. A death by signal is reported as `128 + signal`.
    var exitCode: Int32? {
        guard !process.isRunning else { return nil }
        switch process.terminationReason {
        case .exit: return process.terminationStatus
        case .uncaughtSignal: return 128 + process.terminationStatus
        @unknown default: return process.terminationStatus
        }
    }

    var stdoutText: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits for the first complete stdout line (the bootstrap list or the stub URL).
    func firstStdoutLine(timeout: Duration) async throws -> String {
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

    /// Waits until the process has exited; returns its exit code, or `nil` if it is still running at the deadline.
    @discardableResult
    func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return exitCode
    }

    func signal(_ signal: Int32) {
        if isRunning { _ = kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL after `grace`. Synchronous (usable from `defer`). Returns the exit code.
    @discardableResult
    func stop(grace: Duration = .seconds(5)) -> Int32? {
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
    func logTail(lines: Int = 40) -> String {
        """
        ----- \(name) (pid \(pid), exit \(exitCode.map(String.init) ?? "running")): \(arguments.joined(separator: " "))
        --- stdout (last \(lines) lines):
        \(tail(stdoutText, lines: lines))
        --- stderr (last \(lines) lines):
        \(tail(stderrText, lines: lines))
        """
    }
}

func tail(_ text: String, lines: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
}
