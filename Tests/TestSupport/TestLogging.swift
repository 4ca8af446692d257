import Foundation
import Logging

/// The one way tests get a logger: `TEST_LOG_LEVEL` (trace … critical) sets the level of every test
/// logger, `critical` when unset, so a passing run prints only what the tests print themselves.
/// (Child processes log to their own files, see ``ChildProcess``.)
package enum TestLogging {
    package static var level: Logger.Level {
        ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    }

    /// librdkafka's debug contexts for the group members tests create (`TEST_KAFKA_DEBUG`, e.g.
    /// `cgrp,mock`); librdkafka logs them at debug level, so they show with `TEST_LOG_LEVEL=debug`.
    package static var kafkaDebugContexts: String? {
        ProcessInfo.processInfo.environment["TEST_KAFKA_DEBUG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    package static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// `<prefix>-<8 hex digits>`: a unique topic or group name for one test.
package func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Polls `condition` until it returns true or `timeout` passes; returns whether it became true.
package func eventually(
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
