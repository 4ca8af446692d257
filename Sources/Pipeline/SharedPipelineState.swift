import Synchronization

/// The one lock around `PipelineState`, shared by the pipeline's tasks and its rebalance handler.
/// (`Mutex` is non-copyable, so it lives in a class the two can both hold.)
final class SharedPipelineState: Sendable {
    private let mutex: Mutex<PipelineState>

    init(_ state: PipelineState) {
        mutex = Mutex(state)
    }

    func withLock<Result>(_ body: (inout sending PipelineState) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock(body)
    }
}
