import JuneTransform
import MiniHTTPServer
import Synchronization

/// Control and inspection endpoints: `/events`, `/control/*`, `/stats`.
extension JuneStubResponder {
    func handleEvents(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let user = request.queryParameter("user") else {
            return .json(#"{"error":"missing user parameter"}"#, status: 400)
        }
        guard let seqs = self.state.withLock({ $0.ledger.arrivals(user: user) }) else {
            return .json(#"{"error":"no accepted events for this user"}"#, status: 404)
        }
        let list = seqs.map(String.init).joined(separator: ",")
        return .json(#"{"user":\#(Self.jsonString(user)),"seqs":[\#(list)]}"#)
    }

    func handleOutage(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let text = request.queryParameter("seconds"), let seconds = Self.seconds(text) else {
            return .json(#"{"error":"seconds must be a non-negative number"}"#, status: 400)
        }
        self.setOutage(for: seconds)
        return .json(#"{"outageSeconds":\#(text)}"#)
    }

    func handleWriteKey(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let key = request.queryParameter("key") else {
            return .json(#"{"error":"missing key parameter (empty accepts any key)"}"#, status: 400)
        }
        self.setWriteKey(key)
        return .json(key.isEmpty ? #"{"writeKeyCheck":false}"# : #"{"writeKeyCheck":true}"#)
    }

    /// `POST /control/answer?status=N[&seconds=S][&events-only=1]`; `status=0` ends it.
    func handleAnswer(_ request: MiniHTTPRequest) -> MiniHTTPResponse {
        guard let status = request.queryParameter("status").flatMap({ Int($0) }),
            status == 0 || JuneStubForcedAnswer.statuses.contains(status)
        else {
            return .json(#"{"error":"status must be 0 (end) or 200-599"}"#, status: 400)
        }
        var duration: Duration?
        if let text = request.queryParameter("seconds") {
            guard let seconds = Self.seconds(text), seconds > .zero else {
                return .json(#"{"error":"seconds must be a positive number"}"#, status: 400)
            }
            duration = seconds
        }
        let eventsOnly: Bool
        switch request.queryParameter("events-only") {
        case nil, "0", "false": eventsOnly = false
        case "1", "true": eventsOnly = true
        default: return .json(#"{"error":"events-only must be 1 or 0"}"#, status: 400)
        }
        if status == 0 {
            self.clearForcedAnswer()
            return .json(#"{"answer":0}"#)
        }
        self.setForcedAnswer(status: status, for: duration, eventsOnly: eventsOnly)
        let seconds = duration.map { "\($0.inSeconds)" } ?? "null"
        return .json(#"{"answer":\#(status),"seconds":\#(seconds),"eventsOnly":\#(eventsOnly)}"#)
    }

    /// A non-negative, finite number of seconds below 10^9, as a duration.
    private static func seconds(_ text: String) -> Duration? {
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite, seconds < 1e9 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }

    // MARK: - Setters and readers

    /// Accept only `key` from now on; nil or empty accepts any non-empty key.
    func setWriteKey(_ key: String?) {
        let key = key.flatMap { $0.isEmpty ? nil : $0 }
        self.state.withLock { $0.writeKey = key }
    }

    func setOutage(for duration: Duration) {
        let now = ContinuousClock.now
        self.state.withLock { $0.ledger.setOutage(for: duration, now: now) }
    }

    func setForcedAnswer(status: Int, for duration: Duration?, eventsOnly: Bool) {
        let until = duration.map { ContinuousClock.now + $0 }
        self.state.withLock {
            $0.forcedAnswer = JuneStubForcedAnswer(status: status, eventsOnly: eventsOnly, until: until)
        }
    }

    func clearForcedAnswer() {
        self.state.withLock { $0.forcedAnswer = nil }
    }

    func stats() -> JuneStubStats {
        self.state.withLock { state in
            var stats = state.ledger.stats
            stats.served = state.slots.served
            stats.peakConcurrent = state.slots.peakConcurrent
            stats.peakQueued = state.slots.peakQueued
            stats.latency = state.latency.stats
            return stats
        }
    }

    func acceptedSeqs(user: String) -> [Int] {
        self.state.withLock { $0.ledger.arrivals(user: user) } ?? []
    }

    /// Clears counters, peaks and latencies; keeps what is in flight (outage, forced answer, slots).
    func resetStats() {
        self.state.withLock { state in
            state.ledger.reset()
            state.slots.resetCounters()
            state.latency = JuneStubLatency()
        }
    }

    /// A JSON string literal for `text`.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
