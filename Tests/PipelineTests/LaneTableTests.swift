import JuneTransform
import Kafka
import Testing

@testable import Pipeline

@Suite struct LaneTableTests {
    let partition = KafkaTopicPartition(topic: "events", partition: 0)

    func event(_ offset: Int64, key: String?, generation: UInt64 = 1) -> RelayEvent {
        RelayEvent(
            lane: LaneKey(partition: partition, key: key),
            message: KafkaMessage(
                topic: partition.topic, partition: partition.partition, offset: offset,
                key: nil, value: [], headers: [], timestamp: nil
            ),
            request: .failure(TransformError(reason: .invalidJSON, message: "test")),
            generation: generation
        )
    }

    @Test func sameKeyRunsStrictlyInOrder() {
        var table = LaneTable(limit: 10)
        #expect(table.enqueue(event(0, key: "a"))?.message.offset == 0)
        #expect(table.enqueue(event(1, key: "a")) == nil, "a's second event waits for the first")
        #expect(table.enqueue(event(2, key: "a")) == nil)
        let next = table.finish(event(0, key: "a"))
        #expect(next?.message.offset == 1)
        #expect(table.finish(event(1, key: "a"))?.message.offset == 2)
        #expect(table.finish(event(2, key: "a")) == nil)
        #expect(table.running == 0 && table.buffered == 0)
    }

    @Test func differentKeysRunConcurrentlyUpToTheLimit() {
        var table = LaneTable(limit: 2)
        #expect(table.enqueue(event(0, key: "a")) != nil)
        #expect(table.enqueue(event(1, key: "b")) != nil)
        #expect(table.enqueue(event(2, key: "c")) == nil, "the limit is 2")
        #expect(table.running == 2)
        #expect(table.finish(event(0, key: "a"))?.message.offset == 2, "a free slot goes to the ready lane")
    }

    @Test func retryingLaneBlocksOnlyItself() {
        var table = LaneTable(limit: 4)
        let first = table.enqueue(event(0, key: "stuck"))!
        _ = table.enqueue(event(1, key: "stuck"))
        #expect(table.deferRetry(first) == nil)
        #expect(table.running == 0)
        #expect(table.enqueue(event(2, key: "other"))?.message.offset == 2, "other users go on")
        #expect(table.next() == nil, "stuck's next event must wait for its head")
        #expect(table.retryDue(first)?.message.offset == 0, "the head itself is retried, not offset 1")
    }

    @Test func staleResultsDoNotMoveANewLane() {
        var table = LaneTable(limit: 4)
        let old = table.enqueue(event(5, key: "a", generation: 1))!
        table.drop(partitions: [partition])
        #expect(table.buffered == 0)
        let fresh = table.enqueue(event(5, key: "a", generation: 2))!
        _ = table.enqueue(event(6, key: "a", generation: 2))
        #expect(table.finish(old) == nil, "the old generation's result must not pop the new head")
        #expect(table.running == 1)
        #expect(table.retryDue(old) == nil)
        #expect(table.finish(fresh)?.message.offset == 6)
    }

    @Test func limitZeroStartsNothing() {
        var table = LaneTable(limit: 4)
        table.limit = 0
        #expect(table.enqueue(event(0, key: "a")) == nil)
        table.limit = 1
        #expect(table.next()?.message.offset == 0)
    }
}
