/// A unit of work the pipeline runs as a child task of `run`'s task group.
enum PipelineWork: Sendable {
    /// A worker: runs the job, then takes further jobs while there are some and slots are free.
    case worker(PipelineJob)
    /// A retry timer: after the delay, the lane becomes ready again. It names the lane's head, not the
    /// record, so a revoke frees the record's bytes at once (the lane table holds the only copy).
    case retry(RetryTicket, after: Duration)
}

/// Which lane head a retry timer is for: a revoke or a re-assignment since makes it stale.
struct RetryTicket: Sendable, Equatable {
    var lane: LaneKey
    var epoch: UInt64
    var offset: Int64

    init(_ record: RelayRecord) {
        self.lane = record.lane
        self.epoch = record.epoch
        self.offset = record.offset
    }
}

/// What a worker sends: one event to its per-event endpoint, a record to the dead-letter topic, or a batch.
enum PipelineJob: Sendable {
    case deliver(RelayRecord)
    /// A record that cannot be transformed: straight to the dead-letter topic.
    case invalid(RelayRecord)
    /// Runs of consecutive records of several lanes, in `/sdk/batch` requests (one, or the halves of
    /// a rejected one) that all end by `deadline`: one request timeout after the job was taken.
    case batch([RelayRecord], deadline: ContinuousClock.Instant)

    var records: [RelayRecord] {
        switch self {
        case .deliver(let record), .invalid(let record): [record]
        case .batch(let records, _): records
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
