import JuneTransform

/// Sends requests to June. The seam the pipeline depends on; tests use fakes.
public protocol JuneSending: Sendable {
    /// Sends `request` once (no retries) and classifies what happened. Never throws: every failure is an outcome.
    func send(_ request: JuneRequest) async -> SendOutcome

    /// Sends `batch` once as one `/sdk/batch` request (no retries) and classifies what happened; the
    /// outcome applies to every item. Never throws.
    func send(batch: [JuneBatchItem]) async -> SendOutcome

    /// Like `send(batch:)`, ending by `deadline` (a job of several requests shares one deadline) instead
    /// of one request timeout from now. A deadline that has passed is never written.
    func send(batch: [JuneBatchItem], deadline: ContinuousClock.Instant) async -> SendOutcome
}

extension JuneSending {
    /// Senders without deadlines of their own (test fakes) send as `send(batch:)`.
    public func send(batch: [JuneBatchItem], deadline: ContinuousClock.Instant) async -> SendOutcome {
        await send(batch: batch)
    }
}
