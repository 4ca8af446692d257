import Foundation
import Kafka
import Testing

/// Message-id lineage across a redrive (relay-spec §6, §10): an event without its own messageId gets
/// `<topic>-<partition>-<offset>`; once dead-lettered and redriven it sits at another offset, yet June
/// must see the id it saw the first time, or it counts the event twice.
@Suite("june-relay message ids across dlq redrive", .serialized)
struct RedriveMessageIDTests {
    static let lineageHeader = "june-relay.original.message-id"
    static let user = "lineage-user"

    @Test(.timeLimit(.minutes(2)))
    func redrivenEventWithoutMessageIDReachesJuneWithItsFirstMessageID() async throws {
        try await Harness.run("redrive-message-id") { h in
            let s = try await Scenario.start(h)
            let user = Self.user
            var events = BatchEvents(topic: s.topic)
            for index in 0..<40 { events.valid(user: "other-\(index % 8)", messageID: index % 2 == 0 ? .own : .absent) }
            // June sees this one and rejects it (the stub's `stub:reject` hook): it is dead-lettered.
            events.valid(user: user, messageID: .absent, eventName: "stub:reject", deliverable: false)
            let rejectedIndex = events.count - 1
            for index in 40..<80 { events.valid(user: "other-\(index % 8)", messageID: .absent) }
            try await s.produce(events)

            let relay = try s.startRelay(writeKey: "k-lineage", ["--delivery", "batch"])
            try await s.waitForAccepted(events.deliverable, timeout: .seconds(60))
            try await s.waitForDeadLetters(1, timeout: .seconds(30))

            // Where the event sits in the source topic: its fallback messageId.
            let source = try await s.kafka.readAll(topic: s.topic, count: events.count)
            let original = try #require(source.first { $0.header("idx") == String(rejectedIndex) }, "the rejected event is not in \(s.topic)")
            let firstID = "\(s.topic)-\(original.partition)-\(original.offset)"

            let seenBefore = try await s.stub.receivedMessageIDs(user: user)
            try h.require(!seenBefore.isEmpty, "June (the stub) never saw \(user)'s event before it was dead-lettered")
            h.check(Set(seenBefore) == [firstID], "June saw \(user)'s event as \(seenBefore), expected \(firstID)")
            try await Self.checkDeadLetterKeepsTheID(s, firstID)

            // June would take the event now; redrive it to the source topic, where the relay reads it again.
            try await s.stub.setRejectHook(enabled: false)
            let redrive = try await h.runTool(["dlq", "redrive", "--brokers", s.brokers, "--from", s.dlq, "--to", s.topic])
            h.check(redrive.status == 0, "dlq redrive exit \(redrive.status):\n\(tail(redrive.stderr, lines: 8))")
            try await RelayChecks.waitForRecords(h, kafka: s.kafka, topic: s.topic, count: events.count + 1, timeout: .seconds(30))

            var accepted: [Int] = []
            let delivered = try await eventually(timeout: .seconds(30)) {
                accepted = try await s.stub.acceptedSeqs(user: user)
                return !accepted.isEmpty
            }
            try h.require(delivered, "the redriven event never reached June")
            let seenAfter = try await s.stub.receivedMessageIDs(user: user)
            h.check(seenAfter.count > seenBefore.count, "June saw no new item of \(user): \(seenAfter)")
            h.check(
                Set(seenAfter) == [firstID],
                "June saw \(user)'s event as \(seenAfter): the redriven event must keep \(firstID), not get its new offset")
            try await Self.checkRedrivenRecord(s, of: original, index: rejectedIndex, records: events.count + 1, firstID)

            try await RelayChecks.stopGracefully(h, relay)
            let stats = try await s.stub.stats()
            h.check(stats.orderViolations == 0, "order violations: \(stats)")
            try await s.checkNoLag()
        }
    }

    /// The one dead letter: rejected, and its lineage header holds the messageId June saw, `firstID`.
    static func checkDeadLetterKeepsTheID(_ s: Scenario, _ firstID: String) async throws {
        let deadLetters = try await s.kafka.readAll(topic: s.dlq, count: 1)
        try s.h.require(deadLetters.count == 1, "read \(deadLetters.count) dead letters, expected 1")
        let deadLetter = deadLetters[0]
        s.h.check(deadLetter.header("june-relay.error.reason") == "rejected", "reason \(deadLetter.header("june-relay.error.reason") ?? "nil")")
        s.h.check(
            deadLetter.header(lineageHeader) == firstID,
            "the dead letter's \(lineageHeader) is \(deadLetter.header(lineageHeader) ?? "absent"), expected \(firstID)")
    }

    /// The redriven record (the copy of `original`, whose `idx` header is `index`, elsewhere in the
    /// source topic of `records` records): the value and the lineage header kept, every other
    /// june-relay.* header gone.
    static func checkRedrivenRecord(_ s: Scenario, of original: KafkaMessage, index: Int, records: Int, _ firstID: String) async throws {
        let all = try await s.kafka.readAll(topic: s.topic, count: records)
        let copies = all.filter { $0.header("idx") == String(index) }
        try s.h.require(copies.count == 2, "\(copies.count) records of the event in \(s.topic), expected the original and its redrive")
        let redriven = try #require(copies.first { $0.offset != original.offset || $0.partition != original.partition })
        s.h.check(redriven.value == original.value, "the redriven value differs from the original")
        s.h.check(
            redriven.header(lineageHeader) == firstID,
            "redriven record's \(lineageHeader): \(redriven.header(lineageHeader) ?? "absent")")
        let relayHeaders = redriven.headers.map(\.key).filter { $0.hasPrefix("june-relay.") && $0 != lineageHeader }
        s.h.check(relayHeaders.isEmpty, "the redriven record keeps \(relayHeaders)")
    }
}
