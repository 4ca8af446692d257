/// How `/api/*` and `/sdk/batch` requests are answered, once admitted by the capacity gate.
extension JuneStubResponder {
    /// 401 when the header carries no key, or not the configured one.
    static func authorizationRefusal(key: String?, state: borrowing State) -> Decision? {
        guard let key else { return Decision(status: 401, body: Body.unauthorized) }
        if let writeKey = state.writeKey, key != writeKey {
            return Decision(status: 401, body: Body.invalidWriteKey)
        }
        return nil
    }

    /// The answer `POST /control/answer` forces on this request, if any (counted in `forcedAnswers`).
    static func forcedDecision(state: inout State, now: ContinuousClock.Instant, isProbe: Bool) -> Decision? {
        guard let forced = state.forcedAnswer else { return nil }
        guard forced.applies(now: now, isProbe: isProbe) else {
            if let until = forced.until, now >= until { state.forcedAnswer = nil }
            return nil
        }
        state.ledger.recordForcedAnswer()
        return Decision(status: forced.status, body: forced.body, forced: true)
    }

    /// For a request carrying an event (or an invalid body): the auth check, then a forced answer.
    static func earlyDecision(key: String?, state: inout State, now: ContinuousClock.Instant) -> Decision? {
        if let refusal = Self.authorizationRefusal(key: key, state: state) {
            return refusal
        }
        return Self.forcedDecision(state: &state, now: now, isProbe: false)
    }

    /// A probe is answered as June would, without fault injection: 401 for a wrong key, a forced answer
    /// unless it is for events only, 503 during an outage; nil when it reached the endpoint (the caller
    /// answers what June says to that body).
    static func probeDecision(key: String?, state: inout State, now: ContinuousClock.Instant) -> Decision? {
        if let refusal = Self.authorizationRefusal(key: key, state: state) {
            return refusal
        }
        if let forced = Self.forcedDecision(state: &state, now: now, isProbe: true) {
            return forced
        }
        if state.ledger.isInOutage(now: now) {
            return Decision(status: 503, body: Body.outage)
        }
        return nil
    }

    /// The answer to a real request (not a probe) past the capacity gate: an early decision (the write
    /// key, a forced answer), else 400 for a content type that is not JSON, else June's decision for the
    /// parsed content (`markers`: whether it carries a reject marker, a failing user), else `unparsed`.
    func decideReal(
        key: String?,
        jsonContent: Bool,
        markers: (rejectMarker: Bool, failingUser: Bool)?,
        unparsed: Decision,
        state: inout State,
        now: ContinuousClock.Instant
    ) -> Decision {
        if let early = Self.earlyDecision(key: key, state: &state, now: now) { return early }
        guard jsonContent else { return Decision(status: 400, body: Body.badContentType) }
        guard let markers else { return unparsed }
        return self.decide(rejectMarker: state.rejectHook && markers.rejectMarker, failingUser: markers.failingUser, state: &state, now: now)
    }

    func decide(
        rejectMarker: Bool,
        failingUser: Bool,
        state: inout State,
        now: ContinuousClock.Instant
    ) -> Decision {
        if state.ledger.isInOutage(now: now) {
            return Decision(status: 503, body: Body.outage)
        }
        if rejectMarker {
            return Decision(status: 400, body: Body.rejectedByStub)
        }
        if failingUser {
            return Decision(status: 503, body: Body.failingUser)
        }
        let throttleRate = self.configuration.throttleRate
        let failRate = self.configuration.failRate
        if throttleRate > 0 || failRate > 0 {
            let draw = Double.random(in: 0..<1, using: &state.random)
            if draw < throttleRate {
                return Decision(status: 429, body: Body.throttled)
            }
            if draw < throttleRate + failRate {
                return Decision(status: 503, body: Body.injectedFailure)
            }
        }
        return Decision(status: 200, body: Body.success)
    }

    static func isJSONContentType(_ value: String) -> Bool {
        let mediaType = value.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingWhitespace().lowercased() == "application/json"
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
