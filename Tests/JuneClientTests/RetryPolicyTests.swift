import JuneClient
import Testing

@testable import JuneStub

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy()

    @Test func ceilingDoublesUntilTheCap() {
        #expect(self.policy.ceiling(attempt: 1) == .milliseconds(200))
        #expect(self.policy.ceiling(attempt: 2) == .milliseconds(400))
        #expect(self.policy.ceiling(attempt: 3) == .milliseconds(800))
        #expect(self.policy.ceiling(attempt: 8) == .milliseconds(25_600))
        #expect(self.policy.ceiling(attempt: 9) == .seconds(30))
        #expect(self.policy.ceiling(attempt: 1_000) == .seconds(30))
        #expect(self.policy.ceiling(attempt: .max) == .seconds(30))
    }

    @Test func jitteredDelayStaysWithinZeroAndTheCeiling() {
        var rng = SeededGenerator(seed: 42)
        for attempt in 1...40 {
            for _ in 0..<50 {
                let delay = self.policy.delay(attempt: attempt, retryAfter: nil, using: &rng)
                #expect(delay >= .zero)
                #expect(delay <= self.policy.ceiling(attempt: attempt))
                #expect(delay <= self.policy.maxBackoff)
            }
        }
    }

    @Test func delaysGrowWithAttempts() {
        var rng = SeededGenerator(seed: 7)
        func mean(_ attempt: Int) -> Double {
            var total = 0.0
            for _ in 0..<400 {
                let d = self.policy.delay(attempt: attempt, retryAfter: nil, using: &rng)
                total += Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            }
            return total / 400
        }
        let first = mean(1)
        let third = mean(3)
        let tenth = mean(10)
        #expect(first < third)
        #expect(third < tenth)
        #expect(abs(first - 0.1) < 0.02)  // full jitter: mean is half the 200 ms ceiling
        #expect(abs(tenth - 15) < 2)  // capped at 30 s: mean ≈ 15 s
    }

    @Test func retryAfterIsAMinimum() {
        var rng = SeededGenerator(seed: 1)
        for attempt in 1...20 {
            let delay = self.policy.delay(attempt: attempt, retryAfter: .seconds(5), using: &rng)
            #expect(delay >= .seconds(5))
            #expect(delay <= max(.seconds(5), self.policy.ceiling(attempt: attempt)))
        }
        // Above the cap too: Retry-After wins.
        #expect(self.policy.delay(attempt: 1, retryAfter: .seconds(120), using: &rng) == .seconds(120))
    }

    @Test func sameSeedSameDelays() {
        var a = SeededGenerator(seed: 99)
        var b = SeededGenerator(seed: 99)
        let first = (1...10).map { self.policy.delay(attempt: $0, retryAfter: nil, using: &a) }
        let second = (1...10).map { self.policy.delay(attempt: $0, retryAfter: nil, using: &b) }
        #expect(first == second)
    }

    @Test func budgetEndsRetries() {
        #expect(!self.policy.isExhausted(elapsed: .seconds(899)))
        #expect(self.policy.isExhausted(elapsed: .seconds(900)))
        #expect(self.policy.isExhausted(elapsed: .seconds(10_000)))
    }

    @Test(arguments: [Duration?.none, .some(.zero)])
    func zeroOrNilBudgetRetriesForever(budget: Duration?) {
        let forever = RetryPolicy(budget: budget)
        #expect(!forever.isExhausted(elapsed: .seconds(365 * 24 * 3600)))
    }
}
