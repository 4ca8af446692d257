import JuneTransform
import Kafka
import TestSupport
import Testing

@testable import Pipeline

@Suite struct LaneTableTests {
    let p0 = TestRecords.p0

    func record(_ offset: Int64, key: String?, epoch: UInt64 = 1, bytes: Int = 10) -> RelayRecord {
        TestRecords.record(offset, key: key, epoch: epoch, bytes: bytes)
    }

    /// Takes single-record runs until no lane is ready.
    func takeAll(_ table: inout LaneTable) -> [Int64] {
        var offsets: [Int64] = []
        while let run = table.takeRun(maxRecords: 1) { offsets += run.offsets }
        return offsets
    }

    @Test func sameKeyRunsStrictlyInOrder() {
        var table = LaneTable()
        #expect(table.enqueue(record(0, key: "a")) == true, "a new lane is ready")
        #expect(table.enqueue(record(1, key: "a")) == false, "a's second record waits behind the first")
        #expect(table.enqueue(record(2, key: "a")) == false)
        #expect(table.takeRun(maxRecords: 1)?.offsets == [0])
        #expect(table.takeRun(maxRecords: 1) == nil, "the lane is active: 1 must not start before 0 is done")
        #expect(table.finish(record(0, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 1)?.offsets == [1])
        #expect(table.takeRun(maxRecords: 1) == nil)
        #expect(table.finish(record(1, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 1)?.offsets == [2])
        #expect(table.finish(record(2, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 1) == nil)
        #expect(table.queuedRecords == 0 && table.queuedBytes == 0)
        #expect(!table.hasReadyLane)
    }

    @Test func differentKeysRunConcurrently() {
        var table = LaneTable()
        _ = table.enqueue(record(0, key: "a"))
        _ = table.enqueue(record(1, key: "b"))
        _ = table.enqueue(record(2, key: "a"))
        _ = table.enqueue(record(3, key: "c"))
        #expect(takeAll(&table) == [0, 1, 3], "a, b and c run at once; a's second record waits")
        #expect(table.finish(record(0, key: "a")) == true)
        #expect(table.hasReadyLane)
        #expect(table.peekReady()?.offset == 2)
        #expect(takeAll(&table) == [2])
    }

    @Test func recordsWithoutKeyShareThePartitionLaneAndInvalidRecordsGetTheirOwn() {
        var table = LaneTable()
        _ = table.enqueue(record(0, key: nil))
        _ = table.enqueue(record(1, key: nil))
        _ = table.enqueue(TestRecords.invalid(2))
        _ = table.enqueue(TestRecords.invalid(3))
        #expect(takeAll(&table) == [0, 2, 3], "keyless records are serial; invalid records do not wait for anything")
        #expect(table.finish(record(0, key: nil)) == true)
        #expect(takeAll(&table) == [1])
    }

    @Test func retryingLaneBlocksOnlyItselfThenRetriesItsHead() {
        var table = LaneTable()
        _ = table.enqueue(record(0, key: "stuck"))
        _ = table.enqueue(record(1, key: "stuck"))
        _ = table.enqueue(record(2, key: "other"))
        var head = table.takeRun(maxRecords: 1)![0]
        #expect(head.offset == 0)
        head.attempts = 1
        table.deferRetry([head])
        #expect(takeAll(&table) == [2], "other keys go on while stuck waits")
        #expect(table.takeRun(maxRecords: 1) == nil, "stuck's next record must wait for its head")
        table.retryDue(RetryTicket(record(1, key: "stuck")))
        #expect(table.takeRun(maxRecords: 1) == nil, "a retry timer for a record that is not the head changes nothing")
        table.retryDue(RetryTicket(head))
        let retried = table.takeRun(maxRecords: 1)
        #expect(retried?.offsets == [0], "the head itself is retried, not offset 1")
        #expect(retried?.first?.attempts == 1, "the deferred record keeps its attempt count")
        #expect(table.finish(head) == true)
        #expect(takeAll(&table) == [1])
    }

    @Test func runsTakeConsecutiveRecordsOfOneLane() {
        var table = LaneTable()
        for offset in Int64(0)..<5 { _ = table.enqueue(record(offset, key: "a")) }
        _ = table.enqueue(record(5, key: "b"))
        #expect(table.takeRun(maxRecords: 3)?.offsets == [0, 1, 2])
        #expect(table.takeRun(maxRecords: 10)?.offsets == [5])
        #expect(table.takeRun(maxRecords: 10) == nil)
        #expect(table.finish(record(0, key: "a")) == true)
        #expect(table.finish(record(1, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 10) == nil, "the lane stays active until its whole run is done")
        #expect(table.finish(record(2, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 10)?.offsets == [3, 4])
        #expect(table.queuedRecords == 3, "3, 4 (taken) and 5 (taken) are still queued")
    }

    @Test func runsStopWhereAdmitsSaysSoButAlwaysTakeTheFirst() {
        var table = LaneTable()
        for offset in Int64(0)..<6 { _ = table.enqueue(record(offset, key: "a", bytes: 100 + Int(offset))) }
        var counts: [Int] = []
        let run = table.takeRun(maxRecords: 10) { candidate, count in
            counts.append(count)
            return count < 2 && candidate.byteCost < 1_000
        }
        #expect(run?.offsets == [0, 1])
        #expect(counts == [1, 2], "admits sees each further record with the run's size so far")
        for offset in Int64(0)..<2 { #expect(table.finish(record(offset, key: "a")) == true) }
        #expect(table.takeRun(maxRecords: 10) { _, _ in false }?.offsets == [2], "the first record is taken even when nothing is admitted")
        #expect(table.takeRun(maxRecords: 0) == nil, "the lane is active")
        #expect(table.finish(record(2, key: "a")) == true)
        #expect(table.takeRun(maxRecords: 0)?.offsets == [3], "maxRecords below 1 still takes one record")
    }

    @Test func deferRetryOfARunKeepsTheRestBlockedUntilDue() {
        var table = LaneTable()
        for offset in Int64(0)..<4 { _ = table.enqueue(record(offset, key: "a")) }
        let run = table.takeRun(maxRecords: 3)!
        #expect(run.offsets == [0, 1, 2])
        #expect(table.finish(run[0]) == true, "the first record of the run was delivered")
        var rest = Array(run[1...])
        for index in rest.indices { rest[index].attempts = 2 }
        table.deferRetry(rest)
        #expect(table.takeRun(maxRecords: 10) == nil, "blocked while waiting for the retry")
        #expect(table.finish(rest[0]) == false, "a deferred record is not part of a running job")
        table.retryDue(RetryTicket(rest[0]))
        let retried = table.takeRun(maxRecords: 10)
        #expect(retried?.offsets == [1, 2, 3])
        #expect(retried?.map(\.attempts) == [2, 2, 0], "the deferred records carry their attempt counts")
    }

    @Test func abandonReleasesTheLaneWithoutFinishing() {
        var table = LaneTable()
        _ = table.enqueue(record(0, key: "a"))
        _ = table.enqueue(record(1, key: "a"))
        let head = table.takeRun(maxRecords: 2)!
        table.abandon(head[0])
        #expect(table.queuedRecords == 2, "abandoned records stay queued (not done)")
        #expect(table.takeRun(maxRecords: 2)?.offsets == [0, 1])
    }

    @Test func byteAccountingFollowsEnqueueFinishAndDrop() {
        var table = LaneTable()
        let other = TestRecords.p1
        _ = table.enqueue(record(0, key: "a", bytes: 100))
        _ = table.enqueue(record(1, key: "a", bytes: 200))
        _ = table.enqueue(TestRecords.record(0, key: "a", partition: other, bytes: 1_000))
        #expect(table.queuedBytes == 1_300)
        #expect(table.queuedRecords == 3)
        let run = table.takeRun(maxRecords: 1)!
        #expect(run.offsets == [0] && run[0].partition == p0)
        #expect(table.queuedBytes == 1_300, "taking a run does not free its bytes: the record is still held")
        #expect(table.finish(run[0]) == true)
        #expect(table.queuedBytes == 1_200)
        #expect(table.finish(run[0]) == false, "a second finish of the same record changes nothing")
        #expect(table.queuedBytes == 1_200)
        table.drop(partitions: [p0])
        #expect(table.queuedBytes == 1_000, "dropping p0 frees its 200 bytes, not p1's")
        #expect(table.queuedRecords == 1)
        table.dropAll()
        #expect(table.queuedBytes == 0 && table.queuedRecords == 0)
        #expect(table.takeRun(maxRecords: 1) == nil)
    }

    @Test func staleResultsDoNotMoveANewLane() {
        var table = LaneTable()
        _ = table.enqueue(record(5, key: "a", epoch: 1))
        let old = table.takeRun(maxRecords: 1)![0]
        table.drop(partitions: [p0])
        #expect(table.queuedRecords == 0 && table.queuedBytes == 0)
        #expect(table.takeRun(maxRecords: 1) == nil, "a dropped lane never runs again")
        _ = table.enqueue(record(5, key: "a", epoch: 2))
        _ = table.enqueue(record(6, key: "a", epoch: 2))
        #expect(table.finish(old) == false, "the old epoch's result must not pop the new head")
        table.retryDue(RetryTicket(old))
        table.abandon(old)
        let fresh = table.takeRun(maxRecords: 1)
        #expect(fresh?.offsets == [5] && fresh?.first?.epoch == 2)
        #expect(table.takeRun(maxRecords: 1) == nil, "only one run of the lane at a time, also after re-creation")
        #expect(table.finish(old) == false)
        #expect(table.finish(fresh![0]) == true)
        #expect(table.takeRun(maxRecords: 1)?.offsets == [6])
    }

    @Test func manyKeysKeepPerKeyOrderUnderRandomCompletion() {
        var rng = SplitMix(seed: 7)
        var table = LaneTable()
        var offsetsOfKey: [String: [Int64]] = [:]
        var keyOf: [Int64: String] = [:]
        for offset in Int64(0)..<2_000 {
            let key = "user-\(Int.random(in: 0..<50, using: &rng))"
            keyOf[offset] = key
            offsetsOfKey[key, default: []].append(offset)
            _ = table.enqueue(record(offset, key: key))
        }
        var finishedOfKey: [String: Int] = [:]
        var running: [RelayRecord] = []
        var finished = 0
        while finished < 2_000 {
            while Int.random(in: 0..<3, using: &rng) > 0, let run = table.takeRun(maxRecords: 1) {
                running += run
            }
            guard !running.isEmpty else { continue }
            let record = running.remove(at: Int.random(in: 0..<running.count, using: &rng))
            let key = keyOf[record.offset]!
            let done = finishedOfKey[key, default: 0]
            #expect(record.offset == offsetsOfKey[key]![done], "records of \(key) must run in offset order")
            #expect(running.allSatisfy { keyOf[$0.offset] != key }, "two records of \(key) ran at once")
            #expect(table.finish(record) == true)
            finishedOfKey[key] = done + 1
            finished += 1
        }
        #expect(table.queuedRecords == 0)
        #expect(table.takeRun(maxRecords: 1) == nil)
    }
}

@Suite struct LaneQuarantineTests {
    let p0 = TestRecords.p0

    @Test func aQuarantineLastsUntilADeliveryOrTheLaneEmpties() {
        var table = LaneTable()
        let a = TestRecords.record(0, key: "a")
        _ = table.enqueue(a)
        _ = table.enqueue(TestRecords.record(1, key: "a"))
        _ = table.enqueue(TestRecords.record(2, key: "b"))
        table.quarantine(a.lane)
        table.quarantine(a.lane)
        #expect(table.isQuarantined(a.lane) && table.quarantinedLanes == 1, "quarantining twice counts once")
        #expect(!table.isQuarantined(TestRecords.record(2, key: "b").lane))
        #expect(table.takeRun(maxRecords: 1)?.offsets == [0])
        let finishedA = table.finish(a)
        #expect(finishedA)
        #expect(table.isQuarantined(a.lane), "the lane's next event is still in quarantine")
        table.liftQuarantine(a.lane)
        #expect(!table.isQuarantined(a.lane) && table.quarantinedLanes == 0, "a delivery ends it")
        table.quarantine(a.lane)
        #expect(table.takeRun(maxRecords: 1)?.offsets == [2])
        #expect(table.takeRun(maxRecords: 1)?.offsets == [1])
        let finishedLast = table.finish(TestRecords.record(1, key: "a"))
        #expect(finishedLast)
        #expect(table.quarantinedLanes == 0, "an emptied lane is removed with its quarantine")
    }

    @Test func droppingLanesDropsTheirQuarantine() {
        var table = LaneTable()
        let a = TestRecords.record(0, key: "a")
        _ = table.enqueue(a)
        table.quarantine(a.lane)
        table.drop(partitions: [p0])
        #expect(table.quarantinedLanes == 0 && !table.isQuarantined(a.lane))
        _ = table.enqueue(a)
        table.quarantine(a.lane)
        table.dropAll()
        #expect(table.quarantinedLanes == 0)
    }
}
