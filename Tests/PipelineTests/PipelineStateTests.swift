import Kafka
import Testing

@testable import Pipeline

@Suite struct PipelineStateTests {
    let p0 = KafkaTopicPartition(topic: "events", partition: 0)
    let p1 = KafkaTopicPartition(topic: "events", partition: 1)

    @Test func pausesAFullPartitionAndResumesAtHalf() {
        var state = PipelineState(maxInFlight: 8)
        state.assign([p0, p1])
        for offset in 0..<10 { _ = state.tracker.track(p0, offset: Int64(offset)) }
        var paused = state.partitionsToPause(currentlyPaused: [], perPartitionLimit: 10, totalLimit: 100)
        #expect(paused == [p0])
        for offset in 0..<4 { state.tracker.markDone(p0, offset: Int64(offset), generation: 1) }
        paused = state.partitionsToPause(currentlyPaused: paused, perPartitionLimit: 10, totalLimit: 100)
        #expect(paused == [p0], "6 pending is above half the limit: stays paused")
        state.tracker.markDone(p0, offset: 4, generation: 1)
        paused = state.partitionsToPause(currentlyPaused: paused, perPartitionLimit: 10, totalLimit: 100)
        #expect(paused.isEmpty)
    }

    @Test func pausesEverythingWhenTheTotalIsFull() {
        var state = PipelineState(maxInFlight: 8)
        state.assign([p0, p1])
        for offset in 0..<6 { _ = state.tracker.track(p0, offset: Int64(offset)) }
        let paused = state.partitionsToPause(currentlyPaused: [], perPartitionLimit: 100, totalLimit: 6)
        #expect(paused == [p0, p1])
    }

    @Test func outagePausesAllAndLimitsToOneProbe() {
        var state = PipelineState(maxInFlight: 8)
        state.assign([p0, p1])
        let now = ContinuousClock.now
        var entered = false
        for index in 0..<40 where !entered {
            entered = state.recordFailure(key: "user-\(index % 7)", at: now)
        }
        #expect(entered)
        #expect(state.isInOutage)
        #expect(state.lanes.limit == 1)
        #expect(state.partitionsToPause(currentlyPaused: [], perPartitionLimit: 100, totalLimit: 100) == [p0, p1])
        let later = now + .seconds(20)
        #expect(state.outageTime(at: later) == .seconds(20))
        let recovered = state.recordAnswer(key: "user-1", at: later)
        #expect(recovered)
        #expect(!state.isInOutage)
        #expect(state.lanes.limit == 8)
        #expect(state.outageTime(at: later + .seconds(5)) == .seconds(20), "outage time stops when June answers")
    }

    @Test func oneFailingUserIsNotAnOutage() {
        var state = PipelineState(maxInFlight: 8)
        let now = ContinuousClock.now
        for _ in 0..<100 {
            #expect(state.recordFailure(key: "stuck", at: now) == false)
        }
        #expect(!state.isInOutage)
    }

    @Test func revokeCommitsTheWatermarkAndForgetsThePartition() {
        var state = PipelineState(maxInFlight: 8)
        state.assign([p0])
        let generation = state.tracker.track(p0, offset: 0)!
        _ = state.tracker.track(p0, offset: 1)
        state.tracker.markDone(p0, offset: 0, generation: generation)
        state.beginRevoke([p0])
        #expect(state.assigned.isEmpty)
        #expect(state.finishRevoke([p0]) == [p0: 1])
        #expect(state.tracker.markDone(p0, offset: 1, generation: generation) == false)
    }
}
