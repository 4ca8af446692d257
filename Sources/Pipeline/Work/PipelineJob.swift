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

/// What a worker does after its job ended: `next` is its own next job, `extra` are jobs for slots
/// that became free meanwhile (each gets a worker of its own).
struct NextJobs: Sendable {
    var next: PipelineJob?
    var extra: [PipelineJob] = []

    static let none = NextJobs(next: nil)
}

/// What becomes of a record after June's answer to it, decided by ``RelayWork`` (pure: the caller
/// starts the timer or writes the dead letter).
enum RetryDecision: Sendable, Equatable {
    /// Delivered: its offset is done.
    case done
    /// Back to its lane's head, to be sent again after this wait (the lane waits with it).
    case retry(after: Duration)
    /// To the dead-letter topic with this reason; the job keeps its slot until the write ends.
    case deadLetter(DeadLetterReason)
    /// Its partition is no longer this member's (revoked, re-assigned): neither sent again nor
    /// dead-lettered here; the next owner sends it.
    case dropStale
}

/// What one answer from June to a single-event job changed and what to do next.
struct Completion: Sendable {
    /// The record with its bookkeeping (attempts, first attempt, June-unavailable time) brought up to date.
    var record: RelayRecord
    var decision: RetryDecision
    /// A change of June's health the answer caused (an outage, a refusal, a recovery).
    var transition: RelayWork.Transition?
    /// The worker's next jobs; none while the job continues (a dead letter to write).
    var jobs: NextJobs
}
