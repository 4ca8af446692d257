import JuneTransform

/// Sends one request to June. The seam the pipeline depends on; tests use fakes.
public protocol JuneSending: Sendable {
    /// Sends `request` once (no retries) and classifies what happened. Never throws: every failure is an outcome.
    func send(_ request: JuneRequest) async -> SendOutcome
}
