import Kafka
import TestSupport
import Testing

@testable import Pipeline
@testable import RelayFormats

/// The commit metadata a pipeline leaves behind a stuck user, and what the partition's next owner makes of it.
extension PipelineKafkaTests {
    // MARK: Commit metadata across a restart

    @Test(.timeLimit(.minutes(1)))
    func theNextOwnerSkipsWhatWasDeliveredBehindAStuckUser() async throws {
        let (cluster, topic, group) = try Support.cluster(topic: "restart", partitions: 1)
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        // Offsets 0-9: "stuck" at 2 and 7, a user of its own everywhere else.
        let values = (0..<10).map { Support.event(user: [2, 7].contains($0) ? "stuck" : "user-\($0)", tag: $0) }
        try await Support.produce(cluster, topic: topic, values: values)

        let log = CallLog()
        let configuration = Support.pipelineConfiguration(topic: topic, deadLetterTopic: topic + ".dlq")
        let first = try Support.pipelineWithAStuckUser(cluster, group: group, configuration: configuration, log: log)
        let runningA = Task { try await first.run() }
        defer { first.requestStop() }
        let othersDone = try await Support.wait(within: .seconds(20)) {
            let calls = log.events(sender: "A")
            return Set(calls.filter { $0.user != "stuck" && $0.ended != nil }.compactMap(\.tag)) == [0, 1, 3, 4, 5, 6, 8, 9]
                && calls.filter { $0.user == "stuck" }.count >= 3
        }
        #expect(othersDone)
        #expect(!log.events(sender: "A", user: "stuck").contains { $0.tag == 7 }, "7 waits behind 2 in stuck's lane")
        try await Task.sleep(for: .milliseconds(500))  // a periodic commit or two
        first.requestStop()
        try await runningA.value

        let committed = try await Support.committed(cluster, group: group, partition: tp)
        #expect(committed?.offset == 2, "\(String(describing: committed))")
        if let committed {
            #expect(
                OffsetCommitMetadata.decode(committed.metadata, partition: 0, committed: committed.offset) == .ranges([3..<7, 8..<10]),
                "metadata \(committed.metadata)")
        }

        // Later records, then a new owner.
        try await Support.produce(cluster, topic: topic, values: (10..<13).map { Support.event(user: "late-\($0)", tag: $0) })
        let second = try Support.pipeline(
            cluster, group: group, configuration: configuration, sender: ScriptedSender.deliveringEverything("B", log: log))
        let runningB = Task { try await second.run() }
        defer { second.requestStop() }
        let expected: Set<Int> = [2, 7, 10, 11, 12]
        let resumed = try await Support.wait(within: .seconds(20)) {
            Set(log.events(sender: "B").filter { $0.ended != nil }.compactMap(\.tag)) == expected
        }
        try await Task.sleep(for: .milliseconds(500))  // room for records that should not come
        second.requestStop()
        try await runningB.value
        let byB = log.events(sender: "B")
        #expect(resumed, "B sent \(byB.compactMap(\.tag))")
        #expect(byB.compactMap(\.tag).sorted() == expected.sorted(), "B must not re-send what A delivered")
        #expect(byB.filter { $0.user == "stuck" }.map(\.tag) == [2, 7], "stuck's events in order")
        let final = try await Support.committed(cluster, group: group, partition: tp)
        #expect(final == KafkaOffsetCommit(offset: 13, metadata: ""), "\(String(describing: final))")
    }
}
