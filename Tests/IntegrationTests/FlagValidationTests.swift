import Foundation
import Testing

/// `june-relay run` refuses bad settings before it starts anything: no broker or June is needed, the
/// addresses below are never contacted (README: flags; docs/operations.md).
@Suite("june-relay run flag validation", .serialized)
struct FlagValidationTests {
    struct BadFlag: Sendable, CustomStringConvertible {
        var arguments: [String]
        /// Text stderr must contain (the flag's name).
        var flag: String
        var description: String { arguments.joined(separator: " ") }
    }

    /// `run`'s start-up error exit code: a bad flag is a start-up check like the others (relay-spec §8).
    static let usageError: Int32 = 2

    static let badFlags: [BadFlag] = [
        BadFlag(arguments: ["--drain-timeout", "inf"], flag: "--drain-timeout"),
        BadFlag(arguments: ["--drain-timeout", "nan"], flag: "--drain-timeout"),
        BadFlag(arguments: ["--drain-timeout", "-1"], flag: "--drain-timeout"),
        BadFlag(arguments: ["--max-buffered", "0"], flag: "--max-buffered"),
        BadFlag(arguments: ["--max-buffered", "99999999999999999999"], flag: "--max-buffered"),
        BadFlag(arguments: ["--max-in-flight", "0"], flag: "--max-in-flight"),
        BadFlag(arguments: ["--request-timeout", "20", "--drain-timeout", "10"], flag: "--request-timeout"),
        BadFlag(arguments: ["--batch-max-events", "0"], flag: "--batch-max-events"),
        BadFlag(arguments: ["--max-buffered-bytes", "10"], flag: "--max-buffered-bytes"),
        BadFlag(arguments: ["--delivery", "bogus"], flag: "--delivery"),
        // An item of up to 32 KB must fit an empty batch (relay-spec §10): 20,000 bytes cannot hold one.
        BadFlag(arguments: ["--delivery", "batch", "--batch-max-bytes", "20000"], flag: "--batch-max-bytes"),
    ]

    /// Arguments of a relay that would otherwise start (a loopback June URL needs no extra flag).
    static func relayArguments(juneURL: String = "http://127.0.0.1:9") -> [String] {
        ["run", "--brokers", "127.0.0.1:9", "--topic", "never-read", "--group", "never-joined", "--june-url", juneURL, "--metrics-port", "0"]
    }

    @Test(.timeLimit(.minutes(2)))
    func eachBadNumericFlagIsAUsageErrorNamingTheFlag() async throws {
        try await Harness.run("bad-flags") { h in
            for bad in Self.badFlags {
                let begin = ContinuousClock.now
                let relay = try h.launch("relay-bad-flag", Self.relayArguments() + bad.arguments, environment: ["JUNE_WRITE_KEY": "k-flags"])
                let code = try await relay.waitForExit(timeout: .seconds(15))
                let took = ContinuousClock.now - begin
                h.check(code == Self.usageError, "\(bad): exit \(code.map(String.init) ?? "still running after 15 s"), expected \(Self.usageError)")
                let stderr = relay.stderrText
                h.check(stderr.contains(bad.flag), "\(bad): stderr does not name \(bad.flag):\n\(tail(stderr, lines: 8))")
                h.check(!stderr.contains("Fatal error"), "\(bad): crashed instead of a usage error:\n\(tail(stderr, lines: 8))")
                print("flag validation: \(bad) → exit \(code.map(String.init) ?? "none") in \(took)")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func plainHTTPToARemoteHostIsRefusedAtStartUp() async throws {
        try await Harness.run("insecure-http") { h in
            let begin = ContinuousClock.now
            let relay = try h.launch(
                "relay-insecure-http", Self.relayArguments(juneURL: "http://example.invalid"), environment: ["JUNE_WRITE_KEY": "k-http"]
            )
            let code = try await relay.waitForExit(timeout: .seconds(15))
            let took = ContinuousClock.now - begin
            h.check(
                code != nil && code != 0, "http://example.invalid: exit \(code.map(String.init) ?? "still running after 15 s"), expected a refusal")
            h.check(took < .seconds(10), "http://example.invalid: took \(took) to refuse")
            let stderr = relay.stderrText
            h.check(stderr.contains("--allow-insecure-http"), "stderr does not name --allow-insecure-http:\n\(tail(stderr, lines: 8))")
            h.check(!stderr.contains("k-http"), "the write key was printed")
            print("insecure http: exit \(code.map(String.init) ?? "none") in \(took)")
        }
    }
}
