/// A unit of work the pipeline runs as a child task of `run`'s task group.
enum PipelineWork: Sendable {
    /// A worker: runs the job, then takes further jobs while there are some and slots are free.
    case worker(PipelineJob)
    /// A retry timer: after the delay, the lane becomes ready again. It names the lane's head, not the
    /// record, so a revoke frees the record's bytes at once (the lane table holds the only copy).
    case retry(RetryTicket, after: Duration)
}

/// Hands work to `run`'s task group from anywhere (the fetch loop, workers, the rebalance handler), so
/// every task the pipeline starts is a child of `run` and ends with it.
final class PipelineTasks: Sendable {
    let stream: AsyncStream<PipelineWork>
    private let continuation: AsyncStream<PipelineWork>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: PipelineWork.self)
    }

    func start(_ work: PipelineWork) {
        continuation.yield(work)
    }

    /// No more work is started (after shutdown).
    func finish() {
        continuation.finish()
    }
}
