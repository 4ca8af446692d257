import Synchronization

/// The one lock around `RelayWork`, shared by the pipeline's tasks and its rebalance handler.
/// (`Mutex` is non-copyable, so it lives in a class the two can both hold.)
///
/// Beside it, the shutdown budget (relay-spec §5): once the pipeline is asked to stop, rebalance
/// callbacks (which librdkafka runs inside the final commit's polls and inside the close) wait and
/// commit only until ``limitCallbacks(until:)``'s deadline, so they share the remaining budget instead
/// of each taking a full drain timeout.
final class SharedRelayWork: Sendable {
    private let mutex: Mutex<RelayWork>
    private let stopBudget = Mutex<StopBudget?>(nil)

    private struct StopBudget {
        var requestedAt: ContinuousClock.Instant
        var callbacksUntil: ContinuousClock.Instant
    }

    init(_ state: RelayWork) {
        mutex = Mutex(state)
    }

    func withLock<Result>(_ body: (inout sending RelayWork) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock(body)
    }

    /// Records the first stop request and the deadline of rebalance callbacks from then on. Later
    /// calls change nothing.
    func stopRequested(at instant: ContinuousClock.Instant, callbacksUntil deadline: ContinuousClock.Instant) {
        stopBudget.withLock { budget in
            if budget == nil { budget = StopBudget(requestedAt: instant, callbacksUntil: deadline) }
        }
    }

    /// When the pipeline was first asked to stop; nil while running.
    var stopRequestedAt: ContinuousClock.Instant? {
        stopBudget.withLock { $0?.requestedAt }
    }

    /// Moves the callbacks' deadline (a later shutdown step has its own budget). Only while stopping.
    func limitCallbacks(until deadline: ContinuousClock.Instant) {
        stopBudget.withLock { budget in budget?.callbacksUntil = deadline }
    }

    /// How long a rebalance callback may wait for `wanted`: all of it while running; while stopping, no
    /// longer than the callbacks' deadline allows, but at least `floor` (a commit needs a moment).
    func callbackBudget(_ wanted: Duration, floor: Duration = .zero, now: ContinuousClock.Instant = .now) -> Duration {
        guard let deadline = stopBudget.withLock({ $0?.callbacksUntil }) else { return wanted }
        return min(wanted, max(deadline - now, floor))
    }
}
