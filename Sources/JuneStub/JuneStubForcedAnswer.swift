/// `POST /control/answer?status=N[&seconds=S][&events-only=1]`: requests to `/api/*` and `/sdk/batch`
/// that pass the auth check are answered `status`, all of them or (`eventsOnly`) only those that carry
/// a real event, until `until` (nil: until ended with `status=0`). Such answers are never recorded as
/// delivered.
struct JuneStubForcedAnswer: Sendable, Equatable {
    /// Statuses the control accepts.
    static let statuses = 200...599

    var status: Int
    var eventsOnly: Bool
    var until: ContinuousClock.Instant?

    /// Whether a request arriving at `now` gets the forced answer.
    func applies(now: ContinuousClock.Instant, isProbe: Bool) -> Bool {
        if let until, now >= until { return false }
        return !(isProbe && self.eventsOnly)
    }

    var body: [UInt8] {
        if (200..<300).contains(self.status) {
            return JuneStubResponder.Body.success
        }
        return Array(#"{"error":"forced answer \#(self.status) (stub control)"}"#.utf8)
    }
}
