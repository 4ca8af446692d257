import Foundation
import Kafka
import Testing

// The one-partition scenarios with a stuck user (FailoverOffsetsTests, ReplayTests): June answers 503
// forever to `stub-fail-*`, so that user's events hold the committed offset back while the events
// above it are delivered and recorded as done ranges in the commit metadata.

extension TestEvents {
    /// `total` events for one partition: at `stuckOffsets` those of `stuckUser` (not deliverable), the
    /// others from `users` users by offset (`user-<offset % users>`).
    static func withStuckUser(_ stuckUser: String, at stuckOffsets: Set<Int>, total: Int, users: Int, topic: String) -> TestEvents {
        var events = TestEvents(topic: topic)
        for offset in 0..<total {
            if stuckOffsets.contains(offset) {
                events.valid(user: stuckUser, deliverable: false)
            } else {
                events.valid(user: "user-\(offset % users)")
            }
        }
        return events
    }
}

extension Scenario {
    /// Checks the relay behind `metrics` took up every one of the stuck user's `stuckEvents` events again
    /// (they are all unfinished, buffered) and skipped no record; `when` ends the messages.
    func checkStuckEventsTakenUpAndNothingSkipped(_ metrics: MetricsClient, stuckEvents: Int, _ when: String) async throws {
        var status: RelayStatus?
        let holdsStuck = try await eventually(timeout: .seconds(20)) {
            status = try await metrics.status()
            return status?.buffered == stuckEvents
        }
        h.check(holdsStuck, "the stuck user's \(stuckEvents) events are unfinished \(when): \(String(describing: status))")
        let skipped = try await metrics.value("relay_records_skipped_total", labels: [:]) ?? 0
        h.check(skipped == 0, "records skipped \(when): \(skipped)")
    }
}
