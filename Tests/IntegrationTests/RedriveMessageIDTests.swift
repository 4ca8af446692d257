import Foundation
import Kafka
import Testing

/// Message-id lineage across a redrive (relay-spec §6, §10): an event without its own messageId gets
/// `<topic>-<partition>-<offset>`; once dead-lettered and redriven it sits at another offset, yet June
/// must see the id it saw the first time, or it counts the event twice.
@Suite("june-relay message ids across dlq redrive", .serialized)
struct RedriveMessageIDTests {
    static let lineageHeader = "june-relay.original.message-id"

    @Test(.timeLimit(.minutes(2)))
    func redrivenEventWithoutMessageIDReachesJuneWithItsFirstMessageID() async throws {
        try await Harness.run("redrive-message-id") { h in
            let (topic, dlq, group, brokers, stub, kafka) = try await h.scenario()
            let user = "lineage-user"
            var events = BatchEvents(topic: topic)
            for index in 0..<40 { events.valid(user: "other-\(index % 8)", messageID: index % 2 == 0 ? .own : .absent) }
            // June sees this one and rejects it (the stub's `stub:reject` hook): it is dead-lettered.
            events.valid(user: user, messageID: .absent, eventName: "stub:reject", deliverable: false)
            let rejectedIndex = events.count - 1
            for index in 40..<80 { events.valid(user: "other-\(index % 8)", messageID: .absent) }
            try await kafka.produce(events.records)

            let relay = try h.startRelay(
                brokers: brokers, topic: topic, group: group, juneURL: stub.baseURL, writeKey: "k-lineage",
                extraArguments: ["--delivery", "batch"]
            )
            _ = try await RelayChecks.waitForUniqueAccepted(h, stub: stub, count: events.deliverable, timeout: .seconds(60))
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: dlq, count: 1, timeout: .seconds(30))

            // Where the event sits in the source topic: its fallback messageId.
            let source = try await kafka.readAll(topic: topic, count: events.count)
            let original = try #require(source.first { $0.header("idx") == String(rejectedIndex) }, "the rejected event is not in \(topic)")
            let firstID = "\(topic)-\(original.partition)-\(original.offset)"

            let seenBefore = try await stub.receivedMessageIDs(user: user)
            try h.require(!seenBefore.isEmpty, "June (the stub) never saw \(user)'s event before it was dead-lettered")
            h.check(Set(seenBefore) == [firstID], "June saw \(user)'s event as \(seenBefore), expected \(firstID)")

            let deadLetters = try await kafka.readAll(topic: dlq, count: 1)
            try h.require(deadLetters.count == 1, "read \(deadLetters.count) dead letters, expected 1")
            let deadLetter = deadLetters[0]
            h.check(deadLetter.header("june-relay.error.reason") == "rejected", "reason \(deadLetter.header("june-relay.error.reason") ?? "nil")")
            h.check(
                deadLetter.header(Self.lineageHeader) == firstID,
                "the dead letter's \(Self.lineageHeader) is \(deadLetter.header(Self.lineageHeader) ?? "absent"), expected \(firstID)")

            // June would take the event now; redrive it to the source topic, where the relay reads it again.
            try await stub.setRejectHook(enabled: false)
            let redrive = try await h.runTool(["dlq", "redrive", "--brokers", brokers, "--from", dlq, "--to", topic])
            h.check(redrive.status == 0, "dlq redrive exit \(redrive.status):\n\(tail(redrive.stderr, lines: 8))")
            try await RelayChecks.waitForRecords(h, kafka: kafka, topic: topic, count: events.count + 1, timeout: .seconds(30))

            var accepted: [Int] = []
            let delivered = try await eventually(timeout: .seconds(30)) {
                accepted = try await stub.acceptedSeqs(user: user)
                return !accepted.isEmpty
            }
            try h.require(delivered, "the redriven event never reached June")
            let seenAfter = try await stub.receivedMessageIDs(user: user)
            h.check(seenAfter.count > seenBefore.count, "June saw no new item of \(user): \(seenAfter)")
            h.check(
                Set(seenAfter) == [firstID],
                "June saw \(user)'s event as \(seenAfter): the redriven event must keep \(firstID), not get its new offset")

            // The redriven record: the lineage header kept, every other june-relay.* header gone.
            let all = try await kafka.readAll(topic: topic, count: events.count + 1)
            let copies = all.filter { $0.header("idx") == String(rejectedIndex) }
            try h.require(copies.count == 2, "\(copies.count) records of the event in \(topic), expected the original and its redrive")
            let redriven = try #require(copies.first { $0.offset != original.offset || $0.partition != original.partition })
            h.check(redriven.value == original.value, "the redriven value differs from the original")
            h.check(
                redriven.header(Self.lineageHeader) == firstID,
                "redriven record's \(Self.lineageHeader): \(redriven.header(Self.lineageHeader) ?? "absent")")
            let relayHeaders = redriven.headers.map(\.key).filter { $0.hasPrefix("june-relay.") && $0 != Self.lineageHeader }
            h.check(relayHeaders.isEmpty, "the redriven record keeps \(relayHeaders)")

            try await RelayChecks.stopGracefully(h, relay)
            let stats = try await stub.stats()
            h.check(stats.orderViolations == 0, "order violations: \(stats)")
            try await RelayChecks.checkNoLag(h, kafka: kafka, group: group, topic: topic)
        }
    }
}
