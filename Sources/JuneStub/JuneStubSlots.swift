/// The stub's capacity as a value: when each admitted `/api/*` or `/sdk/batch` request is answered,
/// and how many are being served or waiting. `JuneStubResponder` holds it under its lock; tests drive
/// it directly with a made-up clock.
///
/// Every served request holds a slot for `latency`. With `.queue(N)` a request that finds all N slots
/// taken waits for the earliest one to free, in arrival order; as every request holds its slot for the
/// same time, answers leave in arrival order too, so the answer times of the requests not yet answered
/// are one ascending list and a new request's slot frees when the request N places ahead of it in that
/// list is answered. With `.reject(N)` a request that finds N requests being served is refused (429 at
/// once). Without a capacity the list still counts the requests being served, for `peakConcurrent`.
///
/// The count is of requests whose answer is not yet due (arrival plus queue wait plus latency): the
/// server writes an answer on a timer at that instant or a little later, so the stub may count a
/// request as answered a moment before its client reads the answer, never the other way round.
struct JuneStubSlots: Sendable {
    enum Admission: Equatable, Sendable {
        /// Served: answer after `delay` (queue wait plus latency).
        case served(delay: Duration)
        /// Over `.reject(N)`: answer 429 at once.
        case refused
    }

    let capacity: JuneStubCapacity
    let latency: Duration
    /// Answer times of admitted requests not yet answered, ascending; the live part starts at `head`.
    private var answers: [ContinuousClock.Instant] = []
    private var head = 0
    private var lastArrival: ContinuousClock.Instant?
    /// Most requests served at once (at most N with a capacity).
    private(set) var peakConcurrent = 0
    /// Most requests waiting for a slot at once (`.queue` only).
    private(set) var peakQueued = 0
    /// Requests admitted (given a slot now or later).
    private(set) var served = 0
    /// Requests refused by `.reject(N)`.
    private(set) var refused = 0

    init(capacity: JuneStubCapacity, latency: Duration) {
        self.capacity = capacity
        self.latency = max(latency, .zero)
    }

    /// Requests admitted and not yet answered at the last arrival (being served plus waiting).
    var outstanding: Int { self.answers.count - self.head }

    /// Decides one arriving request. `now` earlier than a previous arrival (two event loops reading
    /// the clock in turn) counts as that arrival.
    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        let now = max(now, self.lastArrival ?? now)
        self.lastArrival = now
        while self.head < self.answers.count, self.answers[self.head] <= now {
            self.head += 1
        }
        let waiting = self.outstanding
        var start = now
        switch self.capacity {
        case .unlimited:
            break
        case .reject(let limit):
            if waiting >= limit {
                self.refused += 1
                return .refused
            }
        case .queue(let limit):
            if waiting >= limit {
                // The slot of the request `limit` places ahead frees first.
                start = max(now, self.answers[self.answers.count - limit])
            }
        }
        let answer = start + self.latency
        self.append(answer)
        self.served += 1
        let inSystem = self.outstanding
        let limit = self.capacity.limit ?? .max
        self.peakConcurrent = max(self.peakConcurrent, min(inSystem, limit))
        self.peakQueued = max(self.peakQueued, max(0, inSystem - limit))
        return .served(delay: answer - now)
    }

    /// Clears the counters and peaks; requests not yet answered stay (they still hold their slots).
    mutating func resetCounters() {
        self.peakConcurrent = 0
        self.peakQueued = 0
        self.served = 0
        self.refused = 0
    }

    private mutating func append(_ answer: ContinuousClock.Instant) {
        if self.head >= 1_024, self.head * 2 >= self.answers.count {
            self.answers.removeFirst(self.head)
            self.head = 0
        }
        self.answers.append(answer)
    }
}
