import JuneClient
import Kafka
import Testing

@testable import Pipeline

/// The work object driven with every `SendOutcome` in every mode, asserting on what it returns (the
/// decision, the transition, the next jobs) and what it changed (offsets, lanes, slots, mode), as
/// async-http-client's state-machine tests do.
@Suite struct RelayWorkCompletionTests {
    let p0 = TestRecords.p0
    let t0 = ContinuousClock.now

    enum Mode: String, CaseIterable, CustomStringConvertible {
        case running, outage, refused, rejectingAll, draining
        var description: String { rawValue }
    }

    enum Outcome: String, CaseIterable, CustomStringConvertible {
        case delivered, rejected, refused, retryable
        var description: String { rawValue }
        var send: SendOutcome {
            switch self {
            case .delivered: .delivered(status: 200)
            case .rejected: .rejected(status: 400, message: "HTTP 400: bad")
            case .refused: .refused(status: 401, message: "HTTP 401: key")
            case .retryable: .retryable(status: 503, retryAfter: nil, message: "HTTP 503: down")
            }
        }
    }

    /// A work object with user "a"'s records 0 and 1 queued on p0, the job for record 0 taken (its first
    /// attempt counted), and then put in `mode`.
    func started(in mode: Mode) -> (work: RelayWork, attempt: RelayRecord) {
        var work = RelayWork.testing(maxInFlight: 4, outageThreshold: 1)
        work.assign([p0], committed: [:], at: t0)
        let epoch = work.tracker.epoch(of: p0)!
        var skipped: [KafkaTopicPartition: Int] = [:]
        let jobs = work.register(
            [TestRecords.record(0, key: "a", epoch: epoch).payload, TestRecords.record(1, key: "a", epoch: epoch).payload],
            skipped: &skipped,
            at: t0
        )
        guard jobs.count == 1, case .deliver(var record) = jobs[0] else {
            Issue.record("one job for the lane's head expected, got \(jobs)")
            return (work, TestRecords.record(0, key: "a"))
        }
        record.firstAttempt = t0
        record.attempts = 1
        switch mode {
        case .running: break
        case .outage: _ = work.recordRetryableFailure(at: t0)
        case .refused: _ = work.recordRefused(status: 401, at: t0)
        case .rejectingAll: work.mode = .refused(since: t0, status: 400, rejectingAll: true)
        case .draining: work.beginDraining()
        }
        return (work, record)
    }

    /// What each outcome must lead to in each mode.
    func expectedDecision(_ outcome: Outcome, _ mode: Mode) -> String {
        switch (outcome, mode) {
        case (.delivered, _): "done"
        case (.rejected, .rejectingAll): "retry"
        case (.rejected, _): "deadLetter(rejected)"
        case (.refused, _), (.retryable, _): "retry"
        }
    }

    func expectedTransition(_ outcome: Outcome, _ mode: Mode) -> RelayWork.Transition? {
        switch (outcome, mode) {
        case (.delivered, .outage), (.rejected, .outage): .recovered(after: .seconds(1), wasRefused: false)
        case (.delivered, .refused), (.delivered, .rejectingAll), (.rejected, .refused): .recovered(after: .seconds(1), wasRefused: true)
        case (.refused, .running), (.refused, .outage), (.refused, .rejectingAll): .refusalBegan(status: 401)
        case (.retryable, .running): .outageBegan
        default: nil
        }
    }

    static func describe(_ decision: RetryDecision) -> String {
        switch decision {
        case .done: "done"
        case .retry: "retry"
        case .deadLetter(let reason): "deadLetter(\(reason.rawValue))"
        case .dropStale: "dropStale"
        }
    }

    @Test(arguments: Outcome.allCases, Mode.allCases)
    func everyOutcomeInEveryMode(outcome: Outcome, mode: Mode) {
        var (work, attempt) = started(in: mode)
        let now = t0 + .seconds(1)
        let completion = work.completed(attempt, outcome: outcome.send, isFirstAttempt: true, rtt: .milliseconds(20), at: now)
        #expect(Self.describe(completion.decision) == expectedDecision(outcome, mode))
        #expect(completion.transition == expectedTransition(outcome, mode))
        let offsets = work.tracker.partitions[p0]!
        switch completion.decision {
        case .done:
            #expect(offsets.committable == 1, "record 0 is done")
            #expect(work.inFlight == (completion.jobs.next == nil ? 0 : 1), "the slot went to the next job, if any")
            if work.mode == .running {
                #expect(completion.jobs.next?.records.map(\.offset) == [1], "the same user's next record follows at once")
            } else {
                #expect(completion.jobs.next == nil, "no new work while \(work.mode.name)")
            }
        case .retry(let delay):
            #expect(offsets.committable == 0, "nothing done")
            #expect(work.inFlight == 0 && completion.jobs.next == nil, "the lane waits: its next record does not pass its head")
            #expect(delay > .zero && delay <= .seconds(30), "the backoff, capped")
            if work.mode.isJuneUnavailable { #expect(delay <= work.configuration.probeIntervalMax) }
            #expect(
                completion.record.unavailableTimeAtFirstAttempt == work.unavailableTime(at: now),
                "the budget starts without the unavailable time so far")
        case .deadLetter:
            #expect(offsets.committable == 0, "not done before the dead-letter write is acknowledged")
            #expect(work.inFlight == 1 && completion.jobs.next == nil, "the job keeps its slot for the write")
            let jobs = work.deadLetterWritten(completion.record, reason: .rejected)
            #expect(work.tracker.partitions[p0]!.committable == 1, "an acknowledged dead letter makes the offset done")
            #expect(jobs.next?.records.map(\.offset) == (work.mode == .running ? [1] : nil))
        case .dropStale:
            Issue.record("p0 is still owned")
        }
    }

    @Test func aRecordGivenUpOnIsDeadLetteredAsRetriesExhaustedAndItsLaneQuarantined() {
        var (work, attempt) = started(in: .running)
        _ = work.recordAccepted(at: t0 + .seconds(1))  // June accepts other users' events
        let late = t0 + work.configuration.retryPolicy.budget! + .seconds(1)
        let completion = work.completed(attempt, outcome: Outcome.retryable.send, isFirstAttempt: false, rtt: .zero, at: late)
        #expect(completion.decision == .deadLetter(.retriesExhausted))
        #expect(completion.transition == nil, "a record given up on does not count toward an outage")
        #expect(work.mode == .running)
        _ = work.deadLetterWritten(completion.record, reason: .retriesExhausted)
        #expect(work.lanes.isQuarantined(attempt.lane))
    }

    @Test func withoutAnAcceptanceSinceItsFirstAttemptARecordKeepsRetrying() {
        var (work, attempt) = started(in: .running)
        let late = t0 + work.configuration.retryPolicy.budget! + .seconds(1)
        let completion = work.completed(attempt, outcome: Outcome.retryable.send, isFirstAttempt: false, rtt: .zero, at: late)
        #expect(Self.describe(completion.decision) == "retry", "June accepted nothing: June is the problem, not the event")
    }

    // MARK: Revoke and assign

    @Test(arguments: [Outcome.rejected, .refused, .retryable])
    func anAnswerForARevokedPartitionIsDroppedNotRetriedNorDeadLettered(outcome: Outcome) {
        var (work, attempt) = started(in: .running)
        work.beginRevoke([p0], at: t0)
        let completion = work.completed(attempt, outcome: outcome.send, isFirstAttempt: true, rtt: .zero, at: t0 + .seconds(1))
        #expect(completion.decision == .dropStale)
        #expect(work.inFlight == 0 && completion.jobs.next == nil)
        #expect(work.finishRevoke([p0])[p0]?.offset == 0, "nothing done: the revoke commits the offset the partition started at")
    }

    @Test func aDeliveryThatEndsDuringTheRevokeDrainIsCommittedByTheRevoke() {
        var (work, attempt) = started(in: .running)
        work.beginRevoke([p0], at: t0)
        let completion = work.completed(attempt, outcome: Outcome.delivered.send, isFirstAttempt: true, rtt: .zero, at: t0 + .seconds(1))
        #expect(completion.decision == .done)
        #expect(completion.jobs.next == nil, "the revoked lane's next record is gone")
        #expect(work.finishRevoke([p0])[p0]?.offset == 1, "the revoke commits what its drain delivered")
    }

    @Test func anAnswerFromAnEarlierOwnershipDoesNotMoveTheNewOne() {
        var (work, attempt) = started(in: .running)
        work.beginRevoke([p0], at: t0)
        _ = work.finishRevoke([p0])
        work.assign([p0], committed: [:], at: t0)
        let fresh = TestRecords.record(0, key: "a", epoch: work.tracker.epoch(of: p0)!)
        var skipped: [KafkaTopicPartition: Int] = [:]
        let jobs = work.register([fresh.payload], skipped: &skipped, at: t0)
        #expect(jobs.count == 1, "the new owner takes its record 0 while the old job is still out")
        let old = work.completed(attempt, outcome: Outcome.delivered.send, isFirstAttempt: true, rtt: .zero, at: t0 + .seconds(1))
        #expect(old.decision == .done)
        #expect(work.tracker.partitions[p0]?.committable == 0, "the old epoch's result is discarded")
        #expect(work.lanes.queuedRecords == 1, "the new lane keeps its head")
    }

    @Test func aRetryTimerOfADroppedLaneStartsNothing() {
        var (work, attempt) = started(in: .running)
        let completion = work.completed(attempt, outcome: Outcome.retryable.send, isFirstAttempt: true, rtt: .zero, at: t0 + .seconds(1))
        guard case .retry = completion.decision else {
            Issue.record("retry expected, got \(completion.decision)")
            return
        }
        _ = work.recordAccepted(at: t0 + .seconds(2))  // back to running
        #expect(work.retryDue(RetryTicket(completion.record), at: t0 + .seconds(3)).map(\.records.first?.offset) == [0])
        var revoked = started(in: .running)
        let failed = revoked.work.completed(revoked.attempt, outcome: Outcome.retryable.send, isFirstAttempt: true, rtt: .zero, at: t0)
        revoked.work.beginRevoke([p0], at: t0)
        _ = revoked.work.recordAccepted(at: t0)  // running again: only the dropped lane keeps the timer from starting a job
        #expect(revoked.work.retryDue(RetryTicket(failed.record), at: t0 + .seconds(1)).isEmpty)
    }

    // MARK: Batches

    /// A record with its batch item, as batch mode builds it.
    static func batchRecord(_ offset: Int64, key: String, epoch: UInt64) -> RelayRecord {
        let plain = TestRecords.record(offset, key: key, epoch: epoch)
        guard case .success(let request) = plain.request else { return plain }
        return RelayRecord(
            lane: plain.lane, message: plain.message, request: plain.request, epoch: epoch, byteCost: plain.byteCost,
            batchItem: JuneBatchItem(request: request, messageID: "m-\(offset)")
        )
    }

    @Test func aBatchFenceDropsStaleRecordsAndHoldsSplitHalvesWhileJuneIsUnavailable() {
        var work = RelayWork.testing(maxInFlight: 4) { $0.delivery = .batch }
        work.assign([p0, TestRecords.p1], committed: [:], at: t0)
        let owned = Self.batchRecord(0, key: "a", epoch: work.tracker.epoch(of: p0)!)
        let stale = TestRecords.record(0, key: "b", partition: TestRecords.p1, epoch: 999)
        let deadline = t0 + .seconds(10)
        let fence = work.fence([owned, stale], isSplit: false, deadline: deadline, at: t0)
        #expect(fence.send.map(\.lane) == [owned.lane] && fence.held.isEmpty)
        _ = work.recordRefused(status: 401, at: t0)
        let split = work.fence([owned], isSplit: true, deadline: deadline, at: t0)
        #expect(split.send.isEmpty && split.held.map(\.sendAlone) == [true], "a refusal holds the split halves back, each alone")
        let late = work.fence([owned], isSplit: false, deadline: deadline, at: deadline)
        #expect(late.send.isEmpty && late.held.count == 1, "a request whose deadline passed is never written")
    }

    @Test func aBatchEndsWithItsLeftRecordsBackInTheirLanesAsRuns() {
        var work = RelayWork.testing(maxInFlight: 4) { $0.delivery = .batch }
        work.assign([p0], committed: [:], at: t0)
        let epoch = work.tracker.epoch(of: p0)!
        var skipped: [KafkaTopicPartition: Int] = [:]
        let payloads = [("a", 0), ("a", 1), ("b", 2)].map { Self.batchRecord(Int64($1), key: $0, epoch: epoch).payload }
        let jobs = work.register(payloads, skipped: &skipped, at: t0)
        guard case .batch(let records, _) = jobs.first, jobs.count == 1 else {
            Issue.record("one batch expected, got \(jobs)")
            return
        }
        #expect(records.offsets == [0, 1, 2])
        let delivered = work.batchDelivered([records[2]], rtt: .milliseconds(5), at: t0)
        #expect(delivered == nil)
        let (transition, givingUp) = work.batchFailed(Array(records[0...1]), retryAfter: .seconds(2), at: t0)
        #expect(transition == nil, "one failure is not an outage (threshold 10)")
        #expect(givingUp == [false, false])
        let ended = work.batchEnded(records, left: Array(records[0...1]), retryAfter: .seconds(2), at: t0)
        #expect(ended.retries.map(\.count) == [2], "user a's two records go back as one run with one timer")
        #expect(ended.retries.first?.head.offset == 0)
        #expect(work.inFlight == 0 && work.tracker.partitions[p0]?.uncommittedCount == 1)
    }
}

extension RelayWork {
    /// A dead-letter write was acknowledged; ends the job (as the pipeline does after the write).
    mutating func deadLetterWritten(_ record: RelayRecord, reason: DeadLetterReason) -> NextJobs {
        deadLetterEnded(record, reason: reason, written: true)
        return jobEnded([record])
    }
}
