import JuneTransform

/// Sends requests to June. The seam the pipeline depends on; tests use fakes.
public protocol JuneSending: Sendable {
    /// Sends `request` once (no retries) and classifies what happened. Never throws: every failure is an outcome.
    func send(_ request: JuneRequest) async -> SendOutcome

    /// Sends `batch` once as one `/sdk/batch` request (no retries) and classifies what happened; the
    /// outcome applies to every item. Never throws.
    func send(batch: [JuneBatchItem]) async -> SendOutcome
}
