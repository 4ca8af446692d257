import Foundation
import Kafka
import Logging
import RelayOperations
import Testing

/// `dlq redrive` against librdkafka's mock cluster: 10 dead-lettered records (3 keys and a keyless one,
/// headers of their own plus the relay's `june-relay.*` headers) in a 2-partition DLQ, redriven to a
/// 4-partition input topic.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct RedriveTests {
    static let input = "events"
    static let dlq = "events.dlq"
    static let count = 10

    let kafka: KafkaFixture

    init() async throws {
        kafka = try KafkaFixture(topics: [Self.input: 4, Self.dlq: 2, "other": 3])
        for index in 0..<Self.count {
            _ = try await kafka.producer.send(Self.deadLettered(index))
        }
    }

    /// Record `index`: key `user-(index % 3)` (none for index 9), DLQ partition by key, original partition 3 - key.
    static func deadLettered(_ index: Int) -> KafkaProducerRecord {
        let user = index % 3
        let key: [UInt8]? = index == 9 ? nil : Array("user-\(user)".utf8)
        let headers = [
            KafkaHeader(key: "traceparent", string: "00-trace-\(index)"),
            KafkaHeader(key: "june-relay.error.stage", string: "delivery"),
            KafkaHeader(key: "june-relay.error.reason", string: "retries-exhausted"),
            KafkaHeader(key: "source", value: nil),
            KafkaHeader(key: "june-relay.original.topic", string: input),
            KafkaHeader(key: "june-relay.original.partition", string: String(3 - user)),
            KafkaHeader(key: "june-relay.original.offset", string: String(index)),
            KafkaHeader(key: "source", string: "rudderstack"),
            KafkaHeader(key: "june-relay.failed-at", string: "2026-11-26T12:00:00Z"),
            KafkaHeader(key: "june-relay.original.message-id", string: "\(input)-\(3 - user)-\(index)"),
        ]
        return KafkaProducerRecord(
            topic: dlq, partition: Int32(user % 2), key: key, value: Array(#"{"n":\#(index)}"#.utf8), headers: headers
        )
    }

    func redrive(limit: Int? = nil, to: String = input) async throws -> RedriveReport {
        var options = RedriveOptions(from: Self.dlq, to: to, limit: limit)
        options.timeout = .seconds(20)
        return try await DeadLetterRedrive(bootstrapServers: kafka.bootstrapServers, logger: kafka.logger).run(options)
    }

    @Test func movesEveryRecordWithoutRelayHeadersButTheMessageID() async throws {
        let report = try await redrive()
        #expect(report.moved == Self.count)
        #expect(report.remaining == 0)
        #expect(report.summary(from: Self.dlq, to: Self.input) == "moved 10 records from events.dlq to events")

        let redriven = try await kafka.readAll(topic: Self.input, count: Self.count)
        #expect(redriven.count == Self.count)
        let byValue = Dictionary(uniqueKeysWithValues: redriven.map { ($0.value?.text ?? "", $0) })
        for index in 0..<Self.count {
            let original = Self.deadLettered(index)
            let record = try #require(byValue[#"{"n":\#(index)}"#])
            #expect(record.key == original.key)
            #expect(
                record.headers == [
                    KafkaHeader(key: "traceparent", string: "00-trace-\(index)"),
                    KafkaHeader(key: "source", value: nil),
                    KafkaHeader(key: "source", string: "rudderstack"),
                    // The one relay header kept: the relay reuses it as the messageId (relay-spec §6).
                    KafkaHeader(key: "june-relay.original.message-id", string: "\(Self.input)-\(3 - index % 3)-\(index)"),
                ])
            // Back to the partition it was dead-lettered from.
            #expect(record.partition == Int32(3 - index % 3))
        }
        // Per key, the DLQ order is kept.
        for user in 0..<3 {
            let values = redriven.filter { $0.key?.text == "user-\(user)" }.sorted { $0.offset < $1.offset }.compactMap { $0.value?.text }
            let expected = (0..<9).filter { $0 % 3 == user }.map { #"{"n":\#($0)}"# }
            #expect(values == expected)
        }
    }

    @Test func limitIsRespectedAndARerunContinues() async throws {
        let first = try await redrive(limit: 4)
        #expect(first.moved == 4)
        #expect(first.remaining == Self.count - 4)
        #expect(first.summary(from: Self.dlq, to: Self.input).hasSuffix("(6 left; run again to continue)"))
        #expect(try await kafka.readAll(topic: Self.input, count: 4).count == 4)

        let second = try await redrive()
        #expect(second.moved == Self.count - 4)
        #expect(second.remaining == 0)
        let third = try await redrive()
        #expect(third == RedriveReport(moved: 0, remaining: 0))

        // Every record exactly once in the input topic.
        let all = try await kafka.readAll(topic: Self.input, count: Self.count)
        #expect(all.compactMap { $0.value?.text }.sorted() == (0..<Self.count).map { #"{"n":\#($0)}"# }.sorted())

        // Records dead-lettered after a run are picked up by the next one.
        _ = try await kafka.producer.send(Self.deadLettered(0))
        #expect(try await redrive().moved == 1)
    }

    @Test func otherTargetTopicLetsThePartitionerChoose() async throws {
        let report = try await redrive(to: "other")
        #expect(report.moved == Self.count)
        let redriven = try await kafka.readAll(topic: "other", count: Self.count)
        #expect(redriven.count == Self.count)
        #expect(redriven.allSatisfy { $0.headers.filter { $0.key.hasPrefix("june-relay.") }.map(\.key) == ["june-relay.original.message-id"] })
    }

    // A missing topic is not tested here: the mock cluster creates any topic a metadata request names
    // (it cannot be asked not to), so only a real broker can refuse it.
    @Test func refusesSameTopic() async throws {
        let same = await #expect(throws: OperationsError.self) { _ = try await redrive(to: Self.dlq) }
        #expect(same?.kind == .invalidArgument)
        // Nothing was moved by the failed runs.
        #expect(try await redrive(limit: 0) == RedriveReport(moved: 0, remaining: Self.count))
    }
}
