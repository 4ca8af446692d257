/// A unit of work the pipeline runs as a child task of `run`'s task group.
enum PipelineWork: Sendable {
    /// A worker: runs the job, then takes further jobs while there are some and slots are free.
    case worker(PipelineJob)
    /// A retry timer: after the delay, the record's lane becomes ready again.
    case retry(RelayRecord, after: Duration)
}

/// What a worker sends: one event to its per-event endpoint, a record to the dead-letter topic, or a batch.
enum PipelineJob: Sendable {
    case deliver(RelayRecord)
    /// A record that cannot be transformed: straight to the dead-letter topic.
    case invalid(RelayRecord)
    /// Runs of consecutive records of several lanes, in one `/sdk/batch` request.
    case batch([RelayRecord])

    var records: [RelayRecord] {
        switch self {
        case .deliver(let record), .invalid(let record): [record]
        case .batch(let records): records
        }
    }
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
