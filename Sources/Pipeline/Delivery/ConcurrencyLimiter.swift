import JuneTransform
/// `--concurrency`: how many June requests (single events or batches) may be outstanding at once.
public enum ConcurrencyMode: String, Sendable, CaseIterable {
    /// The limit is learned from June's answers (``ConcurrencyLimiter``), between 1 and `--max-in-flight`.
    case adaptive
    /// `--max-in-flight` requests outstanding, always.
    case fixed
}

/// The in-flight limit for June requests as a value: fed every answer, it says how many requests may be
/// outstanding. No clock is read inside; the caller passes the time of each answer.
///
/// The algorithm follows Vector's adaptive request concurrency (AIMD on round-trip time, after TCP):
///
/// - **Baseline.** An exponentially weighted moving average of the per-window mean RTT, and of its
///   variance, with α = 0.4 (Vector's `ewma_alpha`). Only `.success` answers are RTT samples: a 429
///   answered at once or a timeout says nothing about how long June takes to do the work.
/// - **Windows.** One baseline RTT long, at least 20 ms (`Tuning.minimumWindow`): a window then holds
///   enough answers to average when June answers in a millisecond, and the limit grows by at most 50
///   per second. The first window only sets the baseline.
/// - **Growth (+1; +25% until the first cut after a start or restart, a gentler TCP slow start: from
///   8 to 256 in about 15 windows instead of 250).** At the end of a window with no overload, whose mean RTT is at most the baseline
///   (as in Vector: a rising RTT means a queue is forming, so growth stops there; `Tuning.growthTolerance`
///   of 0.1% only keeps a steady RTT's rounding from blocking growth) and at most 20% above June's
///   no-load RTT (`Tuning.queueTolerance`), and in which the limit was reached (a request started, or
///   an answer arrived, with `inFlight >= limit`: without that there is no evidence the limit holds
///   anything back).
/// - **No-load RTT.** The lowest window mean seen. The moving baseline alone follows a queue as it
///   forms (each +1 adds a little RTT, which the baseline then absorbs), so in front of a June that
///   queues beyond its capacity the limit would creep up to the ceiling; growth stops instead where the
///   queue adds 20% to June's no-load time, and at least 5 ms (`Tuning.queueToleranceTime`: the relay's
///   own turnaround on a busy machine adds a few milliseconds that grow with the requests out, which
///   against a June answering in 1 ms would hold the limit far below what June takes). Whether the extra time is a queue of ours or a June that
///   became slower for good is then probed, as Netflix's gradient limiters do: after
///   `Tuning.probeAfter` windows held back so, the limit is cut once; if two windows later the RTT is
///   still that high with fewer requests outstanding, it is June's own time and becomes the no-load
///   RTT (growth resumes from there); if it fell, the queue was ours and the no-load RTT stays.
/// - **Cut (× 0.9, at most once per window).** At once on an `.overload` or `.retryAfter`, which also
///   starts a new window in which the limit neither grows nor is cut again (the answers to requests
///   sent at the old limit are still arriving); or at the end of a window whose mean RTT is well
///   above the baseline: by 2.5 standard deviations of the baseline (Vector's `rtt_deviation_scale`),
///   but at least 2% and 1 ms (`Tuning.minimumRiseTime`) and at most 100%. A queue persists and a scheduling hiccup does not (a steady
///   20 ms June measured through the relay has ±0.5–2 ms spikes, which cut the limit to a fraction of
///   June's capacity when one window sufficed): the RTT cut needs two such windows in a row (the
///   first leaves the baseline alone), or one 50% above the baseline (`Tuning.immediateRise`). Never below 1 (`floor`), never above `ceiling`.
/// - **Retry-After** cuts like an overload; its time delays the event it came with (the retry timer),
///   not the limit's growth (a June at capacity that answers each request over it `429, Retry-After: 1`
///   would otherwise hold the limit a cut below its capacity all the time).
/// - **Slow start.** The limit starts at 8 (`Tuning.initialLimit`, at most the ceiling), and
///   ``restart(at:)`` goes back to it when an outage or a refusal ends. The baseline is kept across a
///   restart: June just back is compared with how it answered before (a slower June is cut rather
///   than taken as the new normal), and with α = 0.4 a lasting change is learned within a few windows
///   (0.6⁵ ≈ 8% of the old value is left after five).
///
/// `.fixed` mode: `limit` is always the ceiling; the baseline is still kept (for the RTT gauge).
public struct ConcurrencyLimiter: Sendable {
    /// What one answer says about June's capacity.
    public enum Signal: Sendable, Equatable {
        /// June answered and did the work: a 2xx, or a rejection of one event (a 4xx about the event).
        case success
        /// June is overloaded or unreachable: 429, 503 or another 5xx, 408, a timeout, a connection error.
        case overload
        /// An overload answer carrying `Retry-After`: cuts like `.overload`.
        case retryAfter(Duration)
    }

    /// The algorithm's constants (the defaults are documented on the type).
    public struct Tuning: Sendable, Equatable {
        public var initialLimit = 8
        public var ewmaAlpha = 0.4
        public var growthTolerance = 0.001
        public var deviationScale = 2.5
        public var minimumRise = 0.02
        public var maximumRise = 1.0
        public var immediateRise = 0.5
        public var queueTolerance = 0.2
        public var queueToleranceTime: Duration = .milliseconds(5)
        public var minimumRiseTime: Duration = .milliseconds(1)
        public var probeAfter = 25
        public var slowStartGrowth = 0.25
        public var decreaseRatio = 0.9
        public var minimumWindow: Duration = .milliseconds(20)

        public init() {}
    }

    /// The lowest limit.
    public static let floor = 1

    public let mode: ConcurrencyMode
    /// `--max-in-flight`: the highest limit, and the limit in `.fixed` mode.
    public let ceiling: Int
    public let tuning: Tuning
    /// Requests that may be outstanding now.
    public private(set) var limit: Int

    private struct Baseline: Sendable {
        var mean: Double
        var variance: Double
    }

    private struct Window: Sendable {
        var end: ContinuousClock.Instant
        var rttSum = 0.0
        var rttCount = 0
        var reachedLimit = false
        /// An overload was seen, and the limit cut for it.
        var cut = false
    }

    private var baseline: Baseline?
    private var window: Window?
    /// June's no-load RTT, in seconds (see the type's documentation).
    private var floorRTT: Double?
    /// Until the first cut after a start or restart, growth is by a quarter of the limit per window
    /// (TCP's slow start, gentler): from 8 to 256 in about 15 windows instead of 250.
    private var slowStart = true
    /// Windows in a row whose growth the no-load RTT held back.
    private var heldBackWindows = 0
    /// Windows left until a probe cut is judged (nil: no probe running).
    private var probeWindowsLeft: Int?
    /// Windows in a row whose RTT was well above the baseline.
    private var slowWindows = 0

    public init(mode: ConcurrencyMode, ceiling: Int, tuning: Tuning = Tuning()) {
        self.mode = mode
        self.ceiling = max(Self.floor, ceiling)
        self.tuning = tuning
        self.limit = Self.floor
        self.limit = self.startingLimit
    }

    /// The RTT baseline (the moving average of the windows' mean RTT); nil before the first window ended.
    public var baselineRTT: Duration? {
        self.baseline.map { Duration.seconds($0.mean) }
    }

    /// Feeds one answer: `rtt` is the attempt's round-trip time (used for `.success` only; nil when
    /// there is none), `inFlight` the requests outstanding when it arrived, this one included, `now`
    /// when it arrived.
    public mutating func record(_ signal: Signal, rtt: Duration?, inFlight: Int, at now: ContinuousClock.Instant) {
        var window = self.window ?? Window(end: now + self.windowLength)
        if inFlight >= self.limit {
            window.reachedLimit = true
        }
        switch signal {
        case .success:
            if let rtt, rtt >= .zero {
                window.rttSum += rtt.inSeconds
                window.rttCount += 1
            }
        case .overload, .retryAfter:
            if !window.cut {
                // Cut once, and start a window at the cut in which nothing changes: the next cut
                // (or growth) is at least one window away.
                self.cut()
                window.cut = true  // its RTT still moves the baseline, nothing else
                self.close(window, at: now)
                self.window = Window(end: now + self.windowLength, cut: true)
                return
            }
        }
        if now >= window.end {
            self.close(window, at: now)
            self.window = Window(end: now + self.windowLength)
        } else {
            self.window = window
        }
    }

    /// A request started with `inFlight` requests outstanding, itself included. When that fills the
    /// limit, the current window has reached it (as Vector notes it at a request's start: by the time
    /// an answer arrives, its slot and others may already be free and not yet refilled).
    public mutating func started(inFlight: Int, at now: ContinuousClock.Instant) {
        guard inFlight >= self.limit else { return }
        if self.window == nil { self.window = Window(end: now + self.windowLength) }
        self.window?.reachedLimit = true
    }

    /// Slow start again (after an outage or a refusal ended): the limit goes back to the initial one,
    /// a new window starts at `now`; the baseline is kept.
    public mutating func restart(at now: ContinuousClock.Instant) {
        self.limit = self.startingLimit
        self.window = Window(end: now + self.windowLength)
        self.slowStart = true
    }

    // MARK: - Windows

    private var startingLimit: Int {
        switch self.mode {
        case .fixed: self.ceiling
        case .adaptive: min(self.ceiling, max(Self.floor, self.tuning.initialLimit))
        }
    }

    private var windowLength: Duration {
        let baseline = self.baseline.map { Duration.seconds($0.mean) } ?? .zero
        return max(self.tuning.minimumWindow, baseline)
    }

    /// Ends a window: grow or cut on its RTT, then move the baseline towards it.
    private mutating func close(_ window: Window, at now: ContinuousClock.Instant) {
        guard window.rttCount > 0 else { return }
        let mean = window.rttSum / Double(window.rttCount)
        let floor = min(mean, self.floorRTT ?? mean)
        self.floorRTT = floor
        guard let baseline = self.baseline else {
            self.baseline = Baseline(mean: mean, variance: 0)
            return
        }
        if !window.cut {
            let deviation = self.tuning.deviationScale * baseline.variance.squareRoot()
            let rise = min(
                max(deviation, self.tuning.minimumRise * baseline.mean, self.tuning.minimumRiseTime.inSeconds),
                self.tuning.maximumRise * baseline.mean
            )
            if mean >= baseline.mean + rise {
                // A queue persists, a scheduling hiccup does not: one slow window is only noted (and
                // leaves the baseline alone); the next one in a row cuts. 50% above the baseline cuts at once.
                self.slowWindows += 1
                guard self.slowWindows >= 2 || mean >= baseline.mean * (1 + self.tuning.immediateRise) else { return }
                self.slowWindows = 0
                self.cut()
            } else {
                self.slowWindows = 0
                let queued = mean > floor + max(self.tuning.queueTolerance * floor, self.tuning.queueToleranceTime.inSeconds)
                if let left = self.probeWindowsLeft {
                    // Judging a probe cut: still as slow with fewer requests out is June's own time.
                    self.probeWindowsLeft = left > 1 ? left - 1 : nil
                    if left == 1, queued { self.floorRTT = mean }
                } else if window.reachedLimit, mean <= baseline.mean * (1 + self.tuning.growthTolerance) {
                    if !queued {
                        self.heldBackWindows = 0
                        self.grow()
                    } else if self.heldBackWindows + 1 >= self.tuning.probeAfter {
                        self.heldBackWindows = 0
                        self.cut()
                        self.probeWindowsLeft = 2
                    } else {
                        self.heldBackWindows += 1
                    }
                }
            }
        }
        let alpha = self.tuning.ewmaAlpha
        let difference = mean - baseline.mean
        let increment = alpha * difference
        self.baseline = Baseline(
            mean: baseline.mean + increment,
            variance: (1 - alpha) * (baseline.variance + difference * increment)
        )
    }

    private mutating func grow() {
        guard self.mode == .adaptive else { return }
        let step = self.slowStart ? max(1, Int(Double(self.limit) * self.tuning.slowStartGrowth)) : 1
        self.limit = min(self.ceiling, self.limit + step)
    }

    private mutating func cut() {
        guard self.mode == .adaptive else { return }
        self.slowStart = false
        self.limit = max(Self.floor, Int(Double(self.limit) * self.tuning.decreaseRatio))
    }
}
