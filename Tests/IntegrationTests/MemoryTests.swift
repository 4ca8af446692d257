import Foundation
import Kafka
import Testing

/// Memory is bounded by bytes, not only by record count (README: --max-buffered-bytes): a backlog of
/// large events behind a slow June must not grow the relay past what its pod is given.
/// Heavy (640 MB through the dev broker): runs only with `JUNE_RELAY_HEAVY_TESTS=1`.
@Suite("june-relay memory bound", .serialized)
struct MemoryTests {
    static let heavy = ProcessInfo.processInfo.environment["JUNE_RELAY_HEAVY_TESTS"] == "1"
    static let peakLimit = 300 * 1024 * 1024
    static let total = 40_000

    /// `total` events of 16 KB (640 MB) of 4,000 users, spread evenly over 160 partitions (250 records,
    /// 4 MB, each), so no partition passes the dev broker's limit.
    static func bigEvents(topic: String) -> [KafkaProducerRecord] {
        let users = 4_000
        let pad = String(repeating: "p", count: 16_000)
        var records: [KafkaProducerRecord] = []
        records.reserveCapacity(total)
        for index in 0..<total {
            let user = "user-\(index % users)"
            let json =
                #"{"type":"track","event":"Big","userId":"\#(user)","anonymousId":"anon","messageId":"m-\#(index)","originalTimestamp":"2026-01-02T03:04:05.678Z","properties":{"seq":\#(index / users),"pad":"\#(pad)"}}"#
            let partition = Int32(index % users % 160)
            records.append(KafkaProducerRecord(topic: topic, partition: partition, key: Array(user.utf8), value: Array(json.utf8)))
        }
        return records
    }

    @Test(.enabled(if: heavy, "set JUNE_RELAY_HEAVY_TESTS=1"), .timeLimit(.minutes(10)))
    func sixteenKilobyteBacklogAtSlowJuneStaysBelow300MB() async throws {
        try await Harness.run("memory-16k") { h in
            // The dev broker keeps about 5 MB per partition (librdkafka's mock cluster drops older
            // records beyond that): 160 partitions hold the 640 MB backlog at 250 records (4 MB) each.
            let s = try await Scenario.start(h, partitions: 160, stub: ["--latency-ms", "500"])
            let total = Self.total
            try await s.kafka.produce(Self.bigEvents(topic: s.topic))
            let held = try await s.kafka.recordCount(of: s.topic)
            try h.require(held == Int64(total), "the dev broker holds \(held) of \(total) records: it dropped old ones")

            let port = try Harness.freePort()
            let relay = try s.startRelay(writeKey: "k-memory", metricsPort: port)
            let begin = ContinuousClock.now
            try await s.waitForAccepted(total, timeout: .seconds(480))
            let took = ContinuousClock.now - begin
            let peak = peakResidentBytes(pid: relay.pid)
            let stats = try await s.verifyCleanFinish(stopping: [relay], deliverable: total, noDuplicates: false)
            print("memory: \(total) events of 16 KB delivered in \(took); peak RSS \((peak ?? 0) / 1_048_576) MiB; \(stats)")
            try h.require(peak != nil, "could not read VmHWM of the relay")
            h.check((peak ?? .max) < Self.peakLimit, "peak RSS \((peak ?? 0) / 1_048_576) MiB, limit \(Self.peakLimit / 1_048_576) MiB")
        }
    }
}
