import Foundation
import Testing

/// Where the repository and the built binary are, and how to run it.
enum RepositoryFiles {
    /// `<repo>/` (this file is `<repo>/Tests/OperationsTests/RepositoryFiles.swift`).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func text(_ path: String) throws -> String {
        try String(contentsOf: url(path), encoding: .utf8)
    }

    /// `JUNE_RELAY_BIN`, else `<repo>/.build/debug/june-relay`; `nil` when neither exists.
    static var binary: URL? {
        if let path = ProcessInfo.processInfo.environment["JUNE_RELAY_BIN"], FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path)
        }
        let debug = url(".build/debug/june-relay")
        return FileManager.default.isExecutableFile(atPath: debug.path) ? debug : nil
    }

    static func requireBinary() throws -> URL {
        try #require(binary, "build the binary first (swift build --product june-relay) or set JUNE_RELAY_BIN")
    }
}

/// A child process whose stdout and stderr go to files (read while it runs).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only started, signalled and waited on; Foundation's Process is thread-safe
    // for those, and the file URLs are immutable.
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL
    let name: String

    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], name: String) throws {
        self.name = name
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("operations-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        stdoutURL = directory.appendingPathComponent("\(name).out")
        stderrURL = directory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("JUNE_RELAY_") && $0.key != "JUNE_WRITE_KEY" }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// The first stdout line, once written.
    func firstLine(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n", omittingEmptySubsequences: true).first, stdout.contains("\n") {
                return String(line)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ChildProcessError("\(name) printed no first line; stderr:\n\(stderr.suffix(2_000))")
    }

    /// Waits for the exit and returns the status.
    @discardableResult
    func wait(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.interrupt()
                throw ChildProcessError("\(name) did not exit within \(timeout); stderr:\n\(stderr.suffix(2_000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// SIGTERM, then waits.
    @discardableResult
    func terminate(timeout: Duration = .seconds(30)) async throws -> Int32 {
        if process.isRunning { process.terminate() }
        return try await wait(timeout: timeout)
    }

    /// SIGKILL if still running (cleanup).
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    /// Runs to completion: (status, stdout, stderr).
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, name: arguments.prefix(2).joined(separator: "-"))
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
