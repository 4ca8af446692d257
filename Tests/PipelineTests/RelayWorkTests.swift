import Dispatch
import Kafka
import Testing

@testable import Pipeline
@testable import RelayFormats

@Suite struct RelayWorkTests {
    let p0 = TestRecords.p0
    let p1 = TestRecords.p1

    func pause(_ state: inout RelayWork, limit: Int = 10, uncommitted: Int64 = 1_000, all: Bool = false) -> Set<KafkaTopicPartition> {
        let wanted = state.partitionsToPause(perPartitionLimit: limit, uncommittedLimit: uncommitted, pauseAll: all)
        state.paused = wanted
        return wanted
    }

    func epoch(_ state: RelayWork, _ partition: KafkaTopicPartition) -> UInt64 {
        state.tracker.epoch(of: partition)!
    }

    // MARK: Back-pressure

    @Test func pausesAFullPartitionAndResumesAtHalf() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.assign([p0, p1], committed: [:])
        for offset in Int64(0)..<10 { _ = state.tracker.track(p0, offset: offset) }
        #expect(pause(&state) == [p0])
        let e = epoch(state, p0)
        for offset in Int64(0)..<4 { state.tracker.markDone(p0, offset: offset, epoch: e) }
        #expect(pause(&state) == [p0], "6 unfinished is above half the limit: stays paused")
        state.tracker.markDone(p0, offset: 4, epoch: e)
        #expect(pause(&state).isEmpty, "5 unfinished is half the limit: resumes")
        for offset in Int64(10)..<14 { _ = state.tracker.track(p0, offset: offset) }
        #expect(pause(&state).isEmpty, "9 unfinished, not paused before: below the limit")
    }

    @Test func doneRecordsBehindAStuckOneDoNotCountTowardTheLimit() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.assign([p0], committed: [:])
        for offset in Int64(0)..<10 { _ = state.tracker.track(p0, offset: offset) }
        #expect(pause(&state) == [p0])
        let e = epoch(state, p0)
        for offset in Int64(1)..<10 { state.tracker.markDone(p0, offset: offset, epoch: e) }
        #expect(pause(&state).isEmpty, "one unfinished record (0) and 9 done: the limit counts unfinished ones only")
        for offset in Int64(10)..<18 { _ = state.tracker.track(p0, offset: offset) }
        #expect(pause(&state).isEmpty, "9 unfinished")
        _ = state.tracker.track(p0, offset: 18)
        #expect(pause(&state) == [p0], "10 unfinished")
    }

    @Test func pausesAtTheUncommittedLimitWithHysteresis() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.assign([p0, p1], committed: [:])
        for offset in Int64(0)...20 { _ = state.tracker.track(p0, offset: offset) }
        let e = epoch(state, p0)
        for offset: Int64 in [1, 2, 3, 4, 6, 7, 8, 9] { state.tracker.markDone(p0, offset: offset, epoch: e) }
        #expect(state.tracker.uncommittedCount(p0) == 8)
        #expect(pause(&state, limit: 100, uncommitted: 9).isEmpty, "8 uncommitted, limit 9")
        state.tracker.markDone(p0, offset: 10, epoch: e)
        #expect(pause(&state, limit: 100, uncommitted: 9) == [p0], "9 done offsets wait behind 0")
        state.tracker.markDone(p0, offset: 0, epoch: e)
        #expect(state.tracker.uncommittedCount(p0) == 5, "6...10 wait behind 5")
        #expect(pause(&state, limit: 100, uncommitted: 9) == [p0], "5 is above half the limit: stays paused")
        state.tracker.markDone(p0, offset: 5, epoch: e)
        #expect(state.tracker.uncommittedCount(p0) == 0)
        #expect(pause(&state, limit: 100, uncommitted: 9).isEmpty)
    }

    @Test func pausesEverythingWhenAskedOrWhenNotRunning() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.assign([p0, p1], committed: [:])
        #expect(pause(&state, all: true) == [p0, p1], "the fetch loop's whole-buffer fallback")
        #expect(pause(&state).isEmpty)
        let now = ContinuousClock.now
        _ = state.recordRefused(status: 401, at: now)
        #expect(pause(&state) == [p0, p1], "refused: consumption paused")
        _ = state.recordAccepted(at: now + .seconds(1))
        #expect(pause(&state).isEmpty)
        state.beginDraining()
        #expect(pause(&state) == [p0, p1], "draining: nothing more is fetched")
    }

    // MARK: June's health

    @Test func consecutiveRetryableFailuresMakeAnOutageAndAnAnswerEndsIt() {
        var state = RelayWork.testing(maxInFlight: 8, outageThreshold: 5)
        state.assign([p0, p1], committed: [:])
        let start = ContinuousClock.now
        for index in 0..<4 { #expect(state.recordRetryableFailure(at: start + .milliseconds(index)) == nil) }
        #expect(state.recordAnswered(at: start) == nil, "an answer while running is no transition")
        #expect(state.health.consecutiveFailures == 0, "an answer (e.g. a rejection) resets the count")
        for index in 0..<4 { #expect(state.recordRetryableFailure(at: start + .milliseconds(index)) == nil) }
        #expect(state.mode == .running)
        #expect(state.inFlightLimit == 8 && state.hasFreeSlot)
        let began = start + .seconds(1)
        #expect(state.recordRetryableFailure(at: began) == .outageBegan, "the 5th in a row, whatever the keys")
        #expect(state.mode == .outage(since: began))
        #expect(state.inFlightLimit == 0)
        #expect(!state.hasFreeSlot)
        #expect(state.recordRetryableFailure(at: began + .seconds(1)) == nil, "an outage begins once")
        #expect(state.unavailableTime(at: began + .seconds(7)) == .seconds(7), "unavailable time grows during the outage")
        let end = began + .seconds(20)
        #expect(state.recordAccepted(at: end) == .recovered(after: .seconds(20), wasRefused: false))
        #expect(state.mode == .running)
        #expect(state.inFlightLimit == 8)
        #expect(state.health.lastAnsweredAt == end)
        #expect(state.health.lastAcceptedAt == end, "an accepted real event is the proof a retry budget needs")
        #expect(state.unavailableTime(at: end + .seconds(30)) == .seconds(20), "it stops when June answers")
    }

    @Test func refusalsPauseKeepTheirStartAndRecover() {
        var state = RelayWork.testing(maxInFlight: 4, outageThreshold: 3)
        let t0 = ContinuousClock.now
        #expect(state.recordRefused(status: 401, at: t0) == .refusalBegan(status: 401))
        #expect(state.mode == .refused(since: t0, status: 401))
        #expect(state.inFlightLimit == 0)
        #expect(state.mode.isJuneUnavailable)
        #expect(state.recordRefused(status: 401, at: t0 + .seconds(1)) == nil, "the same refusal again is no news")
        #expect(state.recordRefused(status: 403, at: t0 + .seconds(2)) == .refusalBegan(status: 403))
        #expect(state.mode == .refused(since: t0, status: 403), "one episode, counted from its start")
        state.probeFailedRetryably()
        #expect(state.mode == .outage(since: t0), "a probe that fails retryably turns it into an outage")
        #expect(state.recordRefused(status: 404, at: t0 + .seconds(3)) == .refusalBegan(status: 404))
        #expect(state.mode == .refused(since: t0, status: 404))
        #expect(state.recordRetryableFailure(at: t0 + .seconds(4)) == nil)
        #expect(state.recordAnswered(at: t0 + .seconds(10)) == .recovered(after: .seconds(10), wasRefused: true))
        #expect(state.mode == .running && state.inFlightLimit == 4)
        #expect(state.health.lastAnsweredAt == t0 + .seconds(10), "an answered probe: June is up and takes the key")
        #expect(state.health.lastAcceptedAt == nil, "a probe's answer never counts as an acceptance")
    }

    @Test func unavailableTimeAccumulatesOverEpisodes() {
        var state = RelayWork.testing(maxInFlight: 4, outageThreshold: 1)
        let t0 = ContinuousClock.now
        #expect(state.unavailableTime(at: t0) == .zero)
        #expect(state.recordRetryableFailure(at: t0) == .outageBegan)
        _ = state.recordAccepted(at: t0 + .seconds(3))
        _ = state.recordRefused(status: 407, at: t0 + .seconds(10))
        #expect(state.unavailableTime(at: t0 + .seconds(12)) == .seconds(5), "3 s of outage, 2 s of refusal so far")
        _ = state.recordAccepted(at: t0 + .seconds(14))
        #expect(state.unavailableTime(at: t0 + .seconds(100)) == .seconds(7))
    }

    @Test func drainingStopsNewWorkAndDropsQueuedRecords() {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0], committed: [:])
        _ = state.lanes.enqueue(TestRecords.record(0, key: "a", epoch: epoch(state, p0)))
        #expect(!state.isStopping)
        state.beginDraining()
        #expect(state.isStopping)
        #expect(state.mode == .draining && state.inFlightLimit == 0)
        #expect(state.lanes.queuedRecords == 0 && state.lanes.takeRun(maxRecords: 1) == nil)
        state.stop()
        #expect(state.mode == .stopped && state.isStopping)
    }

    // MARK: Jobs and drain signals

    @Test func drainSignalIsNilWhenIdleAndFiresWhenTheLastRecordIsReleased() {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0, p1], committed: [:])
        #expect(state.drainSignal(for: [p0]) == nil, "nothing in flight: no waiting")
        #expect(state.drainSignal(for: nil) == nil)
        let a = [TestRecords.record(0, key: "a"), TestRecords.record(1, key: "b")]
        let b = [TestRecords.record(0, key: "a", partition: p1)]
        state.startJob(a)
        state.startJob(b)
        #expect(state.inFlight == 2)
        #expect(state.activeRecords(in: [p0]) == 2 && state.activeRecords(in: nil) == 3)
        let p0Signal = state.drainSignal(for: [p0])
        let p1Signal = state.drainSignal(for: [p1])
        let anySignal = state.drainSignal(for: nil)
        #expect(p0Signal != nil && p1Signal != nil && anySignal != nil)
        state.endJob(b)
        #expect(p1Signal?.wait(timeout: .now()) == .success, "p1's last record was released")
        #expect(p0Signal?.wait(timeout: .now()) == .timedOut, "p0 still has records in flight")
        #expect(anySignal?.wait(timeout: .now()) == .timedOut)
        state.endJob(a)
        #expect(p0Signal?.wait(timeout: .now()) == .success)
        #expect(anySignal?.wait(timeout: .now()) == .success)
        #expect(state.inFlight == 0)
        #expect(state.drainSignal(for: [p0]) == nil)
    }

    @Test func removedDrainSignalIsNotSignalled() {
        var state = RelayWork.testing(maxInFlight: 4)
        let job = [TestRecords.record(0, key: "a")]
        state.startJob(job)
        let signal = state.drainSignal(for: [p0])!
        state.removeDrainSignal(signal)
        state.endJob(job)
        #expect(signal.wait(timeout: .now()) == .timedOut, "a waiter that gave up is forgotten")
    }

    // MARK: Assignment and revoke

    @Test func everyAssignmentGetsANewEpoch() {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0, p1], committed: [:])
        #expect(state.hasJoined)
        let first = (epoch(state, p0), epoch(state, p1))
        #expect(first.0 != first.1)
        state.beginRevoke([p0])
        _ = state.finishRevoke([p0])
        state.assign([p0], committed: [p0: KafkaOffsetCommit(offset: 7)])
        #expect(epoch(state, p0) > max(first.0, first.1))
        #expect(state.tracker.partitions[p0]?.committable == 7, "starts from the committed offset")
        #expect(state.assigned == [p0, p1])
    }

    @Test func revokeDropsQueuedRecordsCommitsAndForgetsThePartition() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.assign([p0, p1], committed: [:])
        let e = epoch(state, p0)
        for offset in Int64(0)..<3 {
            #expect(state.tracker.track(p0, offset: offset) == .process(epoch: e))
            _ = state.lanes.enqueue(TestRecords.record(offset, key: "a", epoch: e, bytes: 50))
        }
        _ = state.lanes.enqueue(TestRecords.record(0, key: "a", partition: p1, epoch: epoch(state, p1), bytes: 7))
        state.tracker.markDone(p0, offset: 0, epoch: e)
        state.tracker.markDone(p0, offset: 2, epoch: e)
        state.paused = [p0]
        state.beginRevoke([p0])
        #expect(state.assigned == [p1] && state.paused.isEmpty)
        #expect(state.lanes.queuedRecords == 1 && state.lanes.queuedBytes == 7, "only p1's record is left")
        let commits = state.finishRevoke([p0])
        #expect(commits.keys.sorted() == [p0], "a revoke commits only the revoked partitions")
        #expect(commits[p0]?.offset == 1)
        #expect(OffsetCommitMetadata.decode(commits[p0]!.metadata, partition: p0.partition, committed: 1) == .ranges([2..<3]))
        #expect(state.tracker.markDone(p0, offset: 1, epoch: e) == false, "later results are discarded")
        #expect(state.tracker.epoch(of: p0) == nil)
    }

    // MARK: Unconfirmed commits

    @Test func aCommitLostInARebalanceIsMadeWhenThePartitionComesBack() {
        var state = RelayWork.testing(maxInFlight: 4)
        // The group is at 0 when this ownership starts: the base of its commits.
        state.assign([p0, p1], committed: [p0: KafkaOffsetCommit(offset: 0)])
        let e = epoch(state, p0)
        for offset in Int64(0)..<6 {
            _ = state.tracker.track(p0, offset: offset)
            if offset != 4 { state.tracker.markDone(p0, offset: offset, epoch: e) }
        }
        let commits = state.tracker.takeCommittable()
        #expect(commits[p0]?.offset == 4)
        state.commitFailed(commits, error: KafkaError(code: KafkaError.Code.illegalGeneration, message: "fenced"))
        #expect(state.commitsHeldUntil != nil, "a commit that met a rebalance holds periodic commits")
        #expect(state.unconfirmedCommits[p0] == UnconfirmedCommits.Entry(commit: commits[p0]!, base: 0))

        // The assignment is lost; the partition comes back with the group at offset 1, between the base
        // and the commit (an earlier commit of this member landed late).
        state.beginRevoke([p0, p1])
        state.keepUnconfirmed(state.finishRevoke([p0, p1]))
        let committed = [p0: KafkaOffsetCommit(offset: 1)]
        let recovered = state.takeUnconfirmed(for: [p0], committed: committed)
        #expect(recovered[p0]?.commit == commits[p0], "the highest unconfirmed commit above the group's offset")
        #expect(state.unconfirmedCommits[p0] == nil)
        state.assign([p0], committed: committed, recovered: recovered.mapValues(\.commit))
        let next = epoch(state, p0)
        // librdkafka may fetch from the group's offset 1: 1-3 and 5 are done, 4 is the one to send.
        #expect((1..<6).map { state.tracker.track(p0, offset: $0) } == [.skip, .skip, .skip, .process(epoch: next), .skip])
        #expect(state.tracker.takeCommittable().isEmpty, "the recovered commit is the last one made")
        state.tracker.markDone(p0, offset: 4, epoch: next)
        #expect(state.tracker.takeCommittable()[p0]?.offset == 6)
    }

    @Test func unconfirmedCommitsAtOrBelowTheGroupsOffsetOrSupersededAreDropped() {
        var state = RelayWork.testing(maxInFlight: 4)
        state.assign([p0, p1], committed: [p0: KafkaOffsetCommit(offset: 1), p1: KafkaOffsetCommit(offset: 1)])
        state.keepUnconfirmed([p0: KafkaOffsetCommit(offset: 5), p1: KafkaOffsetCommit(offset: 9)])
        state.keepUnconfirmed([p0: KafkaOffsetCommit(offset: 3)])
        #expect(state.unconfirmedCommits[p0]?.commit.offset == 5, "the highest is kept")
        state.commitSucceeded([p1: KafkaOffsetCommit(offset: 9)])
        #expect(state.unconfirmedCommits[p1] == nil)
        #expect(state.takeUnconfirmed(for: [p0], committed: [p0: KafkaOffsetCommit(offset: 5)]).isEmpty)
        #expect(state.unconfirmedCommits.isEmpty)
    }
}
