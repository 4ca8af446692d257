import Foundation
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command-line tool (through `/usr/bin/env`) to completion; throws with its output when it fails.
@discardableResult
func runTool(_ arguments: [String], in directory: URL? = nil, check: Bool = true) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 || !check else {
        throw ToolFailure(
            description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
    }
    return text
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Whether `tool` is on the PATH.
func toolExists(_ tool: String) -> Bool {
    (try? runTool(["sh", "-c", "command -v \(tool)"])) != nil
}

/// A loopback port nothing listens on right now (bound and released).
func freeLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0)
        .get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// Waits until something accepts TCP connections on the loopback `port` (a child process started).
func waitUntilListening(port: Int, within limit: Duration = .seconds(10)) async throws {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while clock.now < end {
        if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port)
            .get()
        {
            try? await channel.close()
            return
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ToolFailure(description: "nothing listens on 127.0.0.1:\(port) after \(limit)")
}

/// A child process for a test (a server: `openssl s_server`, `tinyproxy`), its output in a file. Stopped
/// by its own pid.
final class TestChildProcess {
    private let process = Process()
    let logFile: URL

    init(_ arguments: [String], logFile: URL) throws {
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        self.process.arguments = arguments
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    var output: String {
        (try? String(contentsOf: self.logFile, encoding: .utf8)) ?? ""
    }

    /// SIGKILL: children of the test runner inherit its blocked-signal mask, so SIGTERM may never arrive.
    func stop() {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
        self.process.waitUntilExit()
    }

    deinit {
        self.stop()
    }
}

/// A throwaway certificate authority and a server certificate it signed for `localhost` and 127.0.0.1,
/// made with the `openssl` command in a temporary directory (removed by `remove()`).
struct TestCertificateAuthority {
    let directory: URL
    /// The CA certificate, PEM: what `--june-ca-file` would point at.
    var caFile: String { self.directory.appendingPathComponent("ca.pem").path }
    var serverCertificateFile: String { self.directory.appendingPathComponent("server.pem").path }
    var serverKeyFile: String { self.directory.appendingPathComponent("server.key").path }

    static func make() throws -> TestCertificateAuthority {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("june-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try runTool(
            ["openssl", "req", "-x509"] + ec + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=june-relay test CA",
            ], in: directory)
        try runTool(
            ["openssl", "req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            in: directory)
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: directory.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try runTool(
            [
                "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "1", "-extfile", "server.ext",
            ],
            in: directory
        )
        return TestCertificateAuthority(directory: directory)
    }

    /// A NIOSSL server context with the signed certificate, at most `maximumTLSVersion`.
    func serverContext(maximumTLSVersion: TLSVersion? = nil) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(self.serverCertificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: self.serverKeyFile, format: .pem))
        )
        configuration.maximumTLSVersion = maximumTLSVersion
        return try NIOSSLContext(configuration: configuration)
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.directory)
    }
}
