import Foundation
import Kafka
import Testing

/// Checks, through the June stub's duplicate-messageId counter, that batch items carry the messageId
/// the relay owes them: the event's own `messageId`, else `<topic>-<partition>-<offset>`.
///
/// The stub does not expose the messageIds it received, only how many accepted items repeated an
/// already accepted one (`duplicateMessageIds`). So, once the test's events are delivered, this writes
/// "twin" events of new users whose `messageId` is set on purpose:
/// - the own id of a delivered event: must collide;
/// - `<topic>-<partition>-<offset>` of a delivered event without an id: must collide;
/// - `<topic>-<partition>-<offset>` of a delivered event that has its own id: must not collide (the
///   relay must not replace an event's own id).
/// The counter must then grow by exactly the number of twins that must collide.
enum MessageIDChecks {
    struct Twins {
        var records: [KafkaProducerRecord] = []
        var mustCollide = 0
    }

    /// Twins for the events at `ownIDs` and `withoutIDs` (indexes into `events.records`), found in the
    /// source topic by their `idx` header.
    static func twins(
        _ h: Harness,
        kafka: KafkaTestClient,
        events: BatchEvents,
        ownIDs: [Int],
        withoutIDs: [Int],
        ownIDsByOffset: [Int]
    ) async throws -> Twins {
        let sourceCount = try await kafka.recordCount(of: events.topic)
        let source = try await kafka.readAll(topic: events.topic, count: Int(sourceCount))
        try h.require(source.count == Int(sourceCount), "read \(source.count) of \(sourceCount) source records")
        var placeByIndex: [Int: String] = [:]
        for message in source {
            if let index = message.header("idx").flatMap(Int.init) {
                placeByIndex[index] = "\(message.topic)-\(message.partition)-\(message.offset)"
            }
        }
        var twins = Twins()
        var ids: [String] = ownIDs.map { BatchEvents.ownID(index: $0) }
        twins.mustCollide += ownIDs.count
        for index in withoutIDs {
            let place = try placeByIndex[index].unwrapped(h, "record \(index) not found in the source topic")
            ids.append(place)
        }
        twins.mustCollide += withoutIDs.count
        for index in ownIDsByOffset {
            let place = try placeByIndex[index].unwrapped(h, "record \(index) not found in the source topic")
            ids.append(place)
        }
        for (number, id) in ids.enumerated() {
            let user = "twin-\(number)"
            let json =
                #"{"type":"track","event":"Twin","userId":"\#(user)","messageId":"\#(id)","properties":{"seq":0},"originalTimestamp":"2026-01-02T03:04:05.678Z"}"#
            twins.records.append(KafkaProducerRecord(topic: events.topic, key: Array(user.utf8), value: Array(json.utf8)))
        }
        return twins
    }

    /// Produces the twins, waits until the stub accepted them, and checks `duplicateMessageIds` grew by
    /// exactly the number that must collide (and the (user, seq) duplicate count did not move).
    static func verify(
        _ h: Harness,
        kafka: KafkaTestClient,
        stub: StubClient,
        twins: Twins,
        timeout: Duration = .seconds(60)
    ) async throws {
        let before = try await stub.stats()
        try h.require(before.duplicateMessageIds != nil, "the stub does not report duplicateMessageIds: \(before)")
        try await kafka.produce(twins.records)
        let after = try await RelayChecks.waitForUniqueAccepted(
            h, stub: stub, count: before.uniqueAccepted + twins.records.count, timeout: timeout)
        let grew = (after.duplicateMessageIds ?? 0) - (before.duplicateMessageIds ?? 0)
        h.check(
            grew == twins.mustCollide,
            "duplicateMessageIds grew by \(grew) for \(twins.records.count) twin events, \(twins.mustCollide) of which reuse a delivered event's messageId: items do not carry the event's own messageId, or `<topic>-<partition>-<offset>` when it has none (before: \(before); after: \(after))"
        )
        h.check(after.duplicates == before.duplicates, "twin events counted as (user, seq) duplicates: \(after)")
    }
}

extension Optional {
    /// The value, or a recorded failure (``Harness/require(_:_:sourceLocation:)``).
    fileprivate func unwrapped(_ h: Harness, _ comment: @autoclosure () -> String) throws -> Wrapped {
        guard let value = self else {
            try h.require(false, comment())
            fatalError("unreachable: require(false) throws")
        }
        return value
    }
}
