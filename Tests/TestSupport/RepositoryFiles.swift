import Foundation

/// Where the repository and the built binary are.
package enum RepositoryFiles {
    /// `<repo>/` (this file is `<repo>/Tests/TestSupport/RepositoryFiles.swift`).
    package static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // <repo>

    package static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    package static func text(_ path: String) throws -> String {
        try String(contentsOf: url(path), encoding: .utf8)
    }

    /// `JUNE_RELAY_BIN` (which `make test` sets), else `<repo>/.build/debug/june-relay`; `nil` when neither
    /// is an executable file.
    package static var binary: URL? {
        try? requireBinary()
    }

    /// ``binary``, or an error that says how to get one.
    package static func requireBinary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["JUNE_RELAY_BIN"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ChildProcessError("JUNE_RELAY_BIN=\(path) is not an executable file")
            }
            return URL(fileURLWithPath: path)
        }
        let debug = url(".build/debug/june-relay")
        guard FileManager.default.isExecutableFile(atPath: debug.path) else {
            throw ChildProcessError(
                "june-relay binary not found at \(debug.path): run `swift build --product june-relay` first or set JUNE_RELAY_BIN to the binary to test"
            )
        }
        return debug
    }
}
