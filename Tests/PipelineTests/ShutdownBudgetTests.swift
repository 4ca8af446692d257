import Testing

@testable import Pipeline

/// The shutdown budget rebalance callbacks share once the pipeline is asked to stop (relay-spec §5):
/// while running a callback waits as long as it wants; while stopping, only until the budget's
/// deadline, but never less than its floor.
@Suite struct ShutdownBudgetTests {
    @Test func callbacksGetAllTheyWantWhileRunningAndShareTheBudgetWhileStopping() {
        let shared = SharedRelayWork(RelayWork.testing(maxInFlight: 4))
        let t0 = ContinuousClock.now
        #expect(shared.stopRequestedAt == nil)
        #expect(shared.callbackBudget(.seconds(10), now: t0) == .seconds(10), "running: the full drain timeout")

        shared.stopRequested(at: t0, callbacksUntil: t0 + .seconds(13))
        #expect(shared.stopRequestedAt == t0)
        #expect(shared.callbackBudget(.seconds(10), now: t0 + .seconds(5)) == .seconds(8), "bounded by the deadline")
        #expect(shared.callbackBudget(.seconds(4), now: t0 + .seconds(5)) == .seconds(4), "never more than wanted")
        #expect(
            shared.callbackBudget(.seconds(10), floor: .milliseconds(200), now: t0 + .seconds(20)) == .milliseconds(200),
            "a spent budget still leaves a commit its floor"
        )
        #expect(shared.callbackBudget(.seconds(10), now: t0 + .seconds(20)) == .zero)

        // A second stop request changes nothing; a later step moves the deadline.
        shared.stopRequested(at: t0 + .seconds(1), callbacksUntil: t0 + .seconds(60))
        #expect(shared.stopRequestedAt == t0)
        shared.limitCallbacks(until: t0 + .seconds(30))
        #expect(shared.callbackBudget(.seconds(10), now: t0 + .seconds(25)) == .seconds(5))
    }
}
