/// Detects a broad June outage from the stream of send outcomes. A pure state machine value: the pipeline
/// holds it (e.g. in a `Mutex`), records every outcome and acts on the returned transition
/// (pause fetching and probe on `.enteredOutage`, resume on `.recovered`).
///
/// An outage is declared after `threshold` consecutive retryable failures that span at least `distinctKeys`
/// different ordering keys, with no success in between. One user failing repeatedly is not an outage.
/// Any success (delivered, or rejected: June answered) resets the count and ends an outage.
public struct OutageDetector: Sendable, Equatable {
    public enum Transition: Sendable, Equatable {
        case enteredOutage
        case recovered
    }

    public let threshold: Int
    public let distinctKeys: Int
    public private(set) var isInOutage: Bool = false
    /// Retryable failures since the last success.
    public private(set) var consecutiveFailures: Int = 0
    /// Distinct keys among those failures (counted up to `distinctKeys`).
    private var failingKeys: Set<String> = []

    /// - Parameters:
    ///   - threshold: consecutive retryable failures needed. Default: 20.
    ///   - distinctKeys: distinct ordering keys those failures must span. Default: 5.
    ///     Events without a key all count as one key: pass the lane's identity (e.g. the partition) if you have one.
    public init(threshold: Int = 20, distinctKeys: Int = 5) {
        self.threshold = max(threshold, 1)
        self.distinctKeys = max(distinctKeys, 1)
    }

    /// Records one request's result. `success` means June answered with something other than a retryable failure.
    public mutating func record(success: Bool, key: String?) -> Transition? {
        if success {
            self.consecutiveFailures = 0
            self.failingKeys.removeAll(keepingCapacity: true)
            if self.isInOutage {
                self.isInOutage = false
                return .recovered
            }
            return nil
        }
        self.consecutiveFailures += 1
        if self.failingKeys.count < self.distinctKeys {
            self.failingKeys.insert(key ?? "")
        }
        if !self.isInOutage, self.consecutiveFailures >= self.threshold, self.failingKeys.count >= self.distinctKeys {
            self.isInOutage = true
            return .enteredOutage
        }
        return nil
    }

    /// Records one outcome: `.retryable` is a failure; `.delivered`, `.refused` and `.rejected` show June is answering.
    public mutating func record(_ outcome: SendOutcome, key: String?) -> Transition? {
        self.record(success: !outcome.isRetryable, key: key)
    }
}
