import Testing

@testable import Pipeline

/// The adaptive concurrency limiter as a value, with time passed in: an answer every 5 ms of a
/// made-up clock, so a 20 ms window holds four answers.
@Suite struct ConcurrencyLimiterTests {
    static func ms(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
    }
    struct Driver {
        var limiter: ConcurrencyLimiter
        var now = ContinuousClock.now
        let step = Duration.milliseconds(5)

        /// `slowStart: false` grows by one per window from the start (most tests follow the linear
        /// phase; ``slowStartGrowsByAQuarterUntilTheFirstCut()`` the slow start).
        init(_ mode: ConcurrencyMode = .adaptive, ceiling: Int = 256, slowStart: Bool = false) {
            var tuning = ConcurrencyLimiter.Tuning()
            if !slowStart { tuning.slowStartGrowth = 0 }
            self.limiter = ConcurrencyLimiter(mode: mode, ceiling: ceiling, tuning: tuning)
        }

        var limit: Int { self.limiter.limit }

        /// `count` answers, one per step; `saturated`: each arrives with the limit in flight.
        mutating func answer(
            _ signal: ConcurrencyLimiter.Signal = .success,
            rtt: Duration? = .milliseconds(20),
            count: Int,
            saturated: Bool = true
        ) {
            for _ in 0..<count {
                self.now += self.step
                let inFlight = saturated ? self.limiter.limit : 1
                self.limiter.record(signal, rtt: signal == .success ? rtt : nil, inFlight: inFlight, at: self.now)
            }
        }

        /// Answers for `duration` of made-up time.
        mutating func answer(for duration: Duration, rtt: Duration = .milliseconds(20), saturated: Bool = true) {
            self.answer(rtt: rtt, count: Int(duration / self.step), saturated: saturated)
        }
    }

    @Test func startsSmallAndFixedStartsAtTheCeiling() {
        #expect(ConcurrencyLimiter(mode: .adaptive, ceiling: 256).limit == 8)
        #expect(ConcurrencyLimiter(mode: .adaptive, ceiling: 4).limit == 4)
        #expect(ConcurrencyLimiter(mode: .adaptive, ceiling: 0).limit == 1)
        #expect(ConcurrencyLimiter(mode: .fixed, ceiling: 256).limit == 256)
        #expect(ConcurrencyLimiter(mode: .adaptive, ceiling: 256).baselineRTT == nil)
        #expect(ConcurrencyMode.allCases.map(\.rawValue) == ["adaptive", "fixed"])
    }

    @Test func growsByOnePerWindowWhileAnswersAreSteadyAndTheLimitIsReached() throws {
        var driver = Driver()
        driver.answer(for: .milliseconds(40))  // the first window sets the baseline
        let start = driver.limit
        driver.answer(for: .seconds(1))  // 50 windows of 20 ms
        #expect(start == 8 || start == 9)
        #expect((start + 45...start + 50).contains(driver.limit), "\(driver.limit)")
        let baseline = try #require(driver.limiter.baselineRTT)
        #expect(abs(Self.ms(baseline) - 20) < 0.001)
    }

    @Test func doesNotGrowWithoutReachingTheLimit() {
        var driver = Driver()
        driver.answer(for: .seconds(2), saturated: false)
        #expect(driver.limit == 8)
    }

    @Test func windowsAreOneBaselineLongAtLeast20ms() {
        // At 100 ms RTT a window is 100 ms: one second grows the limit by about 10, not 50.
        var driver = Driver()
        driver.answer(for: .seconds(1), rtt: .milliseconds(100))
        #expect((15...19).contains(driver.limit), "\(driver.limit)")
    }

    @Test func neverAboveTheCeiling() {
        var driver = Driver(ceiling: 20)
        driver.answer(for: .seconds(2))
        #expect(driver.limit == 20)
    }

    @Test func overloadCutsAtOnceAndAtMostOncePerWindow() {
        var driver = Driver()
        driver.answer(for: .seconds(1))
        let grown = driver.limit
        #expect(grown > 40)
        driver.answer(.overload, count: 1)
        #expect(driver.limit == Int(Double(grown) * 0.9))
        driver.answer(.overload, count: 2)  // same 20 ms window
        #expect(driver.limit == Int(Double(grown) * 0.9))
        driver.answer(.overload, count: 4)  // the next window
        #expect(driver.limit == Int(Double(Int(Double(grown) * 0.9)) * 0.9))
        // Small limits still shrink by at least one: 8 × 0.9 = 7.2 → 7.
        var small = Driver()
        small.answer(.overload, count: 1)
        #expect(small.limit == 7)
    }

    @Test func neverBelowOne() {
        var driver = Driver()
        driver.answer(.overload, count: 400)  // two seconds of timeouts
        #expect(driver.limit == 1)
        driver.answer(.overload, count: 40)
        #expect(driver.limit == 1)
    }

    @Test func retryAfterCutsLikeAnOverloadWithoutHoldingGrowthBack() {
        var driver = Driver()
        driver.answer(for: .milliseconds(100))
        let before = driver.limit
        driver.answer(.retryAfter(.seconds(1)), count: 1)
        let cut = driver.limit
        #expect(cut == Int(Double(before) * 0.9))
        driver.answer(for: .milliseconds(500))
        #expect(driver.limit > cut + 10, "the wait is the event's; the limit grows again at once")
    }

    @Test func aQueueThatFormsSlowlyStopsGrowthNearTheNoLoadTime() {
        // June serves 32 at once and queues the rest, for a minute: the moving baseline alone would
        // follow the queue up to the ceiling.
        var driver = Driver()
        var limits: [Int] = []
        for tick in 0..<12_000 {  // 60 s
            let rtt = 20.0 * max(1, Double(driver.limit) / 32)
            driver.answer(rtt: .microseconds(Int64(rtt * 1000)), count: 1)
            if tick >= 6_000 { limits.append(driver.limit) }
        }
        #expect(limits.min()! >= 26, "\(limits.min()!)")
        #expect(limits.max()! <= 42, "at most 20% over capacity (and its rise over a minute): \(limits.max()!)")
    }

    @Test func aRoundTripTimeWellAboveTheBaselineCuts() {
        var driver = Driver()
        driver.answer(for: .milliseconds(500))
        let grown = driver.limit
        // 1% slower: neither growth nor a cut.
        driver.answer(rtt: .microseconds(20_200), count: 4)
        #expect(driver.limit == grown)
        // Twice the baseline, lasting: cut (the window the step falls in is only noted), once.
        driver.answer(rtt: .milliseconds(40), count: 8)
        #expect(driver.limit == Int(Double(grown) * 0.9))
    }

    @Test func slowStartGrowsByAQuarterUntilTheFirstCut() {
        var driver = Driver(slowStart: true)
        driver.answer(for: .milliseconds(100))  // the first window sets the baseline, then 4 windows
        #expect(driver.limit >= 15, "8 → 10 → 12 → 15: \(driver.limit)")
        driver.answer(for: .milliseconds(400))
        #expect(driver.limit == 256, "the ceiling within half a second: \(driver.limit)")
        driver.answer(.overload, count: 1)
        let cut = driver.limit
        driver.answer(for: .milliseconds(200))
        #expect(driver.limit <= cut + 10, "after a cut growth is one per window: \(cut) → \(driver.limit)")
        driver.limiter.restart(at: driver.now)
        driver.answer(for: .milliseconds(300))
        #expect(driver.limit > 40, "a restart slow-starts again: \(driver.limit)")
    }

    @Test func aRequestStartingAtTheLimitCountsAsReachingIt() {
        // Answers arrive with a slot already free (not yet refilled); the starts fill the limit.
        var starting = Driver()
        var idle = Driver()
        for _ in 0..<100 {
            starting.limiter.started(inFlight: starting.limit, at: starting.now)
            starting.answer(count: 1, saturated: false)
            idle.answer(count: 1, saturated: false)
        }
        #expect(starting.limit > 8, "starts at the limit are evidence it holds requests back")
        #expect(idle.limit == 8, "without them the limit does not grow")
    }

    @Test func aSingleSlowWindowIsNotACut() {
        var driver = Driver()
        driver.answer(for: .milliseconds(500))
        let grown = driver.limit
        // One slow answer (a scheduling hiccup) makes one window slow, among steady ones: no cut.
        driver.answer(rtt: .milliseconds(30), count: 1)
        driver.answer(rtt: .milliseconds(20), count: 8)
        #expect(driver.limit >= grown)
    }

    @Test func aQueueFormingAboveTheLimitIsCutBeforeTheRTTDoubles() {
        // June serves 32 at once and queues the rest: RTT = 20 ms × in-flight / 32 above 32.
        var driver = Driver()
        var limits: [Int] = []
        var rtts: [Double] = []
        for tick in 0..<2_000 {  // 10 s
            let rtt = 20.0 * max(1, Double(driver.limit) / 32)
            driver.answer(rtt: .microseconds(Int64(rtt * 1000)), count: 1)
            if tick >= 1_000 {
                limits.append(driver.limit)
                rtts.append(rtt)
            }
        }
        #expect(limits.min()! >= 26, "\(limits.min()!)")
        // Growth stops where the queue adds 5 ms (25% of 20 ms): about 40 at capacity 32.
        #expect(limits.max()! <= 42, "\(limits.max()!)")
        #expect(rtts.reduce(0, +) / Double(rtts.count) < 1.3 * 20)
    }

    @Test func a429AboveTheLimitKeepsItNearCapacity() {
        // June answers 429 beyond 32 requests at once.
        var driver = Driver()
        var throttled = 0
        for tick in 0..<2_000 {
            let over = driver.limit > 32
            driver.answer(over ? .overload : .success, count: 1)
            if tick >= 1_000, over { throttled += 1 }
            if tick >= 1_000 { #expect((25...34).contains(driver.limit)) }
        }
        #expect(throttled < 100, "\(throttled) of 1000 answers throttled")
    }

    @Test func theBaselineFollowsASlowDrift() throws {
        var driver = Driver()
        driver.answer(for: .milliseconds(100), saturated: false)
        // RTT 0.5% slower every window (20 ms → 27 ms over 60 windows): no cut, no growth.
        var rtt = 20.0
        for _ in 0..<60 {
            rtt *= 1.005
            driver.answer(rtt: .microseconds(Int64(rtt * 1000)), count: 4)
        }
        #expect(driver.limit == 8)
        let baseline = try #require(driver.limiter.baselineRTT)
        #expect(abs(Self.ms(baseline) - rtt) < rtt * 0.02, "\(baseline) against \(rtt) ms")
    }

    @Test func aLastingStepIsLearnedAndGrowthResumes() throws {
        var driver = Driver()
        driver.answer(for: .seconds(1))
        let grown = driver.limit
        driver.answer(for: .milliseconds(300), rtt: .milliseconds(40))  // June got slower for good
        let low = driver.limit
        #expect(low < grown)
        #expect(low > grown / 3, "a lasting change is learned within a few windows")
        driver.answer(for: .seconds(2), rtt: .milliseconds(40))
        #expect(driver.limit > low + 10)
        let baseline = try #require(driver.limiter.baselineRTT)
        #expect(abs(Self.ms(baseline) - 40) < 0.1)
    }

    @Test func slowStartAfterAnOutage() {
        var driver = Driver()
        driver.answer(for: .seconds(1))
        #expect(driver.limit > 40)
        let baseline = driver.limiter.baselineRTT
        driver.answer(.overload, count: 400)  // two seconds of outage
        #expect(driver.limit == 1)
        driver.limiter.restart(at: driver.now)
        #expect(driver.limit == 8)
        #expect(driver.limiter.baselineRTT == baseline)
        driver.answer(for: .milliseconds(500))
        #expect(driver.limit > 25)
        // A restart also brings a large limit back down.
        driver.limiter.restart(at: driver.now)
        #expect(driver.limit == 8)
    }

    @Test func fixedModeKeepsTheCeiling() {
        var driver = Driver(.fixed, ceiling: 64)
        driver.answer(for: .seconds(1))
        driver.answer(.overload, count: 10)
        driver.answer(.retryAfter(.seconds(5)), count: 10)
        driver.answer(rtt: .milliseconds(200), count: 20)
        driver.limiter.restart(at: driver.now)
        #expect(driver.limit == 64)
        #expect(driver.limiter.baselineRTT != nil)
    }
}
