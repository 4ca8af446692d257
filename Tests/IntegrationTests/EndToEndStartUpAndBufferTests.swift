import Foundation
import Kafka
import Testing

/// End to end, the relay's limits: a bad start-up exits non-zero at once without consuming, and small
/// buffers stay bounded under a backlog 20 times their size.
extension EndToEndTests {
    // MARK: 8. Start-up validation

    struct BadStart: Sendable, CustomStringConvertible {
        var name: String
        var arguments: [String]
        var withWriteKey: Bool
        var topicOverride: String?
        /// Text the error message on stderr must contain.
        var mustMention: [String]
        var description: String { name }
    }

    static let badStarts: [BadStart] = [
        BadStart(
            name: "unknown librdkafka property", arguments: ["--kafka-config", "no.such.property=1"], withWriteKey: true,
            mustMention: ["no.such.property"]),
        BadStart(name: "June URL not a URL", arguments: ["--june-url", "notaurl"], withWriteKey: true, mustMention: ["notaurl"]),
        BadStart(name: "no write key", arguments: [], withWriteKey: false, mustMention: ["JUNE_WRITE_KEY"]),
        BadStart(
            name: "missing input topic", arguments: [], withWriteKey: true, topicOverride: "no-such-topic",
            mustMention: ["no-such-topic", "does not exist"]),
        BadStart(
            name: "missing dead-letter topic", arguments: ["--dlq-topic", "no-such-dlq"], withWriteKey: true,
            mustMention: ["no-such-dlq", "does not exist"]),
    ]

    @Test(.timeLimit(.minutes(3)))
    func invalidStartupExitsNonZeroQuicklyAndConsumesNothing() async throws {
        try await Harness.run("startup-validation") { h in
            let s = try await Scenario.start(h)
            try await s.produceValid(50, users: 5)

            for bad in Self.badStarts {
                let group = uniqueName("relay-bad")
                var arguments = ["run", "--brokers", s.brokers, "--topic", bad.topicOverride ?? s.topic, "--group", group, "--metrics-port", "0"]
                if !bad.arguments.contains("--june-url") { arguments += ["--june-url", s.stub.baseURL] }
                arguments += bad.arguments
                let begin = ContinuousClock.now
                let relay = try h.launch(
                    "relay-" + bad.name.replacingOccurrences(of: " ", with: "-"),
                    arguments,
                    environment: bad.withWriteKey ? ["JUNE_WRITE_KEY": "k-startup"] : [:]
                )
                let code = try await relay.waitForExit(timeout: .seconds(20))
                let took = ContinuousClock.now - begin
                h.check(code != nil, "\(bad): still running after 20 s")
                h.check(took < .seconds(15), "\(bad): took \(took) to exit")
                h.check(code != 0, "\(bad): exit code 0")
                let stderr = relay.stderrText
                for text in bad.mustMention {
                    h.check(stderr.contains(text), "\(bad): stderr does not mention \"\(text)\":\n\(tail(stderr, lines: 10))")
                }
                let committed = try await s.kafka.committedOffsets(group: group, topic: s.topic)
                h.check(committed.isEmpty, "\(bad): offsets committed for \(group): \(committed)")
                print("start-up validation: \(bad) → exit \(code.map(String.init) ?? "none") in \(took)")
            }
            let stats = try await s.stub.stats()
            h.check(stats.requests == 0, "June got requests from relays that should not have started: \(stats)")
        }
    }

    // MARK: 8b. Bounded buffers

    @Test(.timeLimit(.minutes(3)))
    func smallBuffersStayBoundedAndLoseNothing() async throws {
        try await Harness.run("bounded-buffers") { h in
            let s = try await Scenario.start(h, stub: ["--latency-ms", "10"])
            let events = try await s.produceValid(4_000, users: 300)

            // 50 per partition, 200 in total: the whole backlog is 20x that.
            let maxBuffered = 50
            let pollBatch = 1_000  // PipelineConfiguration.pollBatchSize: one poll can overshoot by this much
            let (relay, metrics) = try s.startRelayWithMetrics(
                writeKey: "k-bounded", ["--max-buffered", String(maxBuffered), "--max-in-flight", "16"]
            )
            var peak = 0.0
            var samples = 0
            while (try? await s.stub.stats().uniqueAccepted) ?? 0 < events.deliverable {
                if let buffered = try? await metrics.value("relay_buffered_records") {
                    peak = max(peak, buffered)
                    samples += 1
                }
                try h.require(relay.isRunning, "relay exited early: \(relay.stderrText.suffix(2_000))")
                try await Task.sleep(for: .milliseconds(100))
            }
            try await s.verifyCleanFinish(stopping: [relay], deliverable: events.deliverable)

            // The gauge is refreshed once per commit interval, so it samples the buffer; it may read 0.
            h.check(samples > 5, "only \(samples) metric samples")
            h.check(peak <= Double(4 * maxBuffered + pollBatch), "buffered peaked at \(peak), bound \(4 * maxBuffered + pollBatch)")
        }
    }
}
