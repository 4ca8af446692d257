import JuneClient
import Testing

@Suite struct OutageDetectorTests {
    @Test func manyFailuresAcrossUsersEnterOutage() {
        var detector = OutageDetector(threshold: 20, distinctKeys: 5)
        for i in 0..<19 {
            #expect(detector.record(success: false, key: "user-\(i % 5)") == nil)
        }
        #expect(!detector.isInOutage)
        #expect(detector.record(success: false, key: "user-0") == .enteredOutage)
        #expect(detector.isInOutage)
        // Further failures (probes) do not re-announce.
        #expect(detector.record(success: false, key: "user-1") == nil)
        #expect(detector.isInOutage)
    }

    @Test func oneUserFailingIsNotAnOutage() {
        var detector = OutageDetector(threshold: 20, distinctKeys: 5)
        for _ in 0..<100 {
            #expect(detector.record(success: false, key: "stuck-user") == nil)
        }
        #expect(!detector.isInOutage)
        // Once enough other users fail too, it is.
        for i in 0..<3 {
            #expect(detector.record(success: false, key: "other-\(i)") == nil)
        }
        #expect(detector.record(success: false, key: "other-3") == .enteredOutage)
    }

    @Test func aSuccessResetsTheStreak() {
        var detector = OutageDetector(threshold: 4, distinctKeys: 2)
        _ = detector.record(success: false, key: "a")
        _ = detector.record(success: false, key: "b")
        _ = detector.record(success: false, key: "a")
        #expect(detector.record(success: true, key: "c") == nil)
        #expect(detector.consecutiveFailures == 0)
        _ = detector.record(success: false, key: "a")
        _ = detector.record(success: false, key: "b")
        #expect(detector.record(success: false, key: "a") == nil)
        #expect(detector.record(success: false, key: "b") == .enteredOutage)
    }

    @Test func successRecoversFromOutage() {
        var detector = OutageDetector(threshold: 2, distinctKeys: 2)
        _ = detector.record(success: false, key: "a")
        #expect(detector.record(success: false, key: "b") == .enteredOutage)
        #expect(detector.record(success: true, key: "a") == .recovered)
        #expect(!detector.isInOutage)
        #expect(detector.record(success: true, key: "a") == nil)
    }

    @Test func outcomesMapToSuccessOrFailure() {
        var detector = OutageDetector(threshold: 2, distinctKeys: 2)
        let failure = SendOutcome.retryable(status: 503, retryAfter: nil, message: "HTTP 503")
        _ = detector.record(failure, key: "a")
        #expect(detector.record(failure, key: "b") == .enteredOutage)
        // A rejection means June is answering: that ends the outage.
        #expect(detector.record(.rejected(status: 400, message: "HTTP 400"), key: "a") == .recovered)
        _ = detector.record(failure, key: "a")
        #expect(detector.record(.delivered(status: 200), key: "a") == nil)
        #expect(detector.consecutiveFailures == 0)
    }

    @Test func keylessFailuresCountAsOneKey() {
        var detector = OutageDetector(threshold: 3, distinctKeys: 2)
        for _ in 0..<10 {
            #expect(detector.record(success: false, key: nil) == nil)
        }
        #expect(detector.record(success: false, key: "x") == .enteredOutage)
    }
}
