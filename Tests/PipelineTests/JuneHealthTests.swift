import Kafka
import Testing

@testable import Pipeline

/// June's health rules: acceptances as the only evidence for `retries-exhausted`, rejection storms
/// treated as refusals, 410 as a refusal.
@Suite struct JuneHealthTests {
    let p0 = TestRecords.p0

    func lane(_ user: Int) -> LaneKey {
        LaneKey(partition: p0, kind: .key("user-\(user)"))
    }

    @Test func onlyAnAcceptedRealEventIsEvidenceThatJuneIsUp() {
        var state = RelayWork.testing(maxInFlight: 8)
        let t0 = ContinuousClock.now
        #expect(state.recordAnswered(at: t0) == nil, "a probe answered while running")
        #expect(!state.health.acceptedAfter(t0 - .seconds(1)), "a probe's answer is no acceptance")
        #expect(state.recordRejected(lane: lane(1), status: 400, at: t0 + .seconds(1)).deadLetter)
        #expect(!state.health.acceptedAfter(t0 - .seconds(1)), "a rejection is no acceptance either")
        #expect(state.recordAccepted(at: t0 + .seconds(2)) == nil)
        #expect(state.health.acceptedAfter(t0 + .seconds(1)))
        #expect(!state.health.acceptedAfter(t0 + .seconds(2)), "only acceptances after the instant count")
    }

    @Test func fiftyRejectionsOfTenUsersInARowAreARefusal() {
        var state = RelayWork.testing(maxInFlight: 8)
        let t0 = ContinuousClock.now
        for index in 0..<(JuneHealth.stormRejections - 1) {
            let (transition, deadLetter) = state.recordRejected(lane: lane(index % 10), status: 400, at: t0 + .milliseconds(index))
            #expect(transition == nil && deadLetter, "rejection \(index + 1) of the window is dead-lettered")
        }
        let last = t0 + .seconds(1)
        let (transition, deadLetter) = state.recordRejected(lane: lane(3), status: 400, at: last)
        #expect(transition == .rejectingAllBegan(status: 400))
        #expect(!deadLetter, "the rejection that completes the storm is held back")
        #expect(state.mode == .refused(since: last, status: 400, rejectingAll: true))
        #expect(state.mode.isJuneUnavailable && state.inFlightLimit == 0)
        #expect(state.mode.refusalLabel == "rejecting-all")
        let (again, deadLetterAgain) = state.recordRejected(lane: lane(20), status: 400, at: last + .seconds(1))
        #expect(again == nil && !deadLetterAgain, "while June rejects everything nothing is dead-lettered")
        #expect(state.recordAnswered(at: last + .seconds(2)) == nil, "an answered probe does not end a storm")
        #expect(state.mode.isRejectingAll)
        #expect(state.recordAccepted(at: last + .seconds(3)) == .recovered(after: .seconds(3), wasRefused: true))
        #expect(state.mode == .running)
    }

    @Test func rejectionsOfFewUsersOrWithAnAcceptanceBetweenAreNoStorm() {
        var state = RelayWork.testing(maxInFlight: 8)
        let t0 = ContinuousClock.now
        for index in 0..<200 {
            #expect(state.recordRejected(lane: lane(index % 9), status: 422, at: t0).deadLetter, "9 users: bad events, not a storm")
        }
        #expect(state.mode == .running)
        _ = state.recordAccepted(at: t0)
        for index in 0..<200 {
            if index % 40 == 39 { _ = state.recordAccepted(at: t0) }
            #expect(state.recordRejected(lane: lane(100 + index), status: 400, at: t0).deadLetter, "an acceptance restarts the count")
        }
        #expect(state.mode == .running)
    }

    @Test func aRejectionEndsAnOutageAndAStatusRefusalReplacesAStorm() {
        var state = RelayWork.testing(maxInFlight: 8, outageThreshold: 1)
        let t0 = ContinuousClock.now
        #expect(state.recordRetryableFailure(at: t0) == .outageBegan)
        let first = state.recordRejected(lane: lane(0), status: 400, at: t0 + .seconds(1))
        #expect(first.transition == .recovered(after: .seconds(1), wasRefused: false) && first.deadLetter, "a rejection is an answer")
        let stormAt = t0 + .seconds(2)
        for index in 1..<JuneHealth.stormRejections { _ = state.recordRejected(lane: lane(index), status: 400, at: stormAt) }
        #expect(state.mode == .refused(since: stormAt, status: 400, rejectingAll: true))
        #expect(state.recordRefused(status: 410, at: stormAt + .seconds(1)) == .refusalBegan(status: 410))
        #expect(state.mode == .refused(since: stormAt, status: 410), "one unavailable episode, now a status refusal")
        state.probeFailedRetryably()
        #expect(state.mode == .outage(since: stormAt))
    }

    @Test func nothingChangesModeWhileStopping() {
        var state = RelayWork.testing(maxInFlight: 8)
        state.beginDraining()
        let t0 = ContinuousClock.now
        for index in 0..<100 {
            #expect(state.recordRejected(lane: lane(index), status: 400, at: t0).deadLetter)
        }
        #expect(state.mode == .draining)
    }
}
