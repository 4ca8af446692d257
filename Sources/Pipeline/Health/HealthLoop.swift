import CoreMetrics
import JuneClient
import JuneTransform
import Logging

// MARK: - Pipeline + the health loop and probes

extension Pipeline {
    /// The health loop: while June is unavailable, probes it on a timer (every 0.5 s, backing off to
    /// 5 s), whatever is or is not buffered and across rebalances, and repeats the refusal log once a
    /// minute. Ends when the pipeline stops (cancellation).
    func healthLoop() async {
        var interval = configuration.probeIntervalMin
        var nextProbe: ContinuousClock.Instant?
        var lastRefusalLog: ContinuousClock.Instant?
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                return
            }
            let mode = state.withLock { $0.mode }
            let now = ContinuousClock.now
            guard mode.isJuneUnavailable else {
                interval = configuration.probeIntervalMin
                nextProbe = nil
                lastRefusalLog = nil
                continue
            }
            if case .refused(_, let status, let rejectingAll) = mode {
                if let last = lastRefusalLog, now - last >= .seconds(60) {
                    logRefusal(status: status, rejectingAll: rejectingAll, message: nil)
                    lastRefusalLog = now
                } else if lastRefusalLog == nil {
                    lastRefusalLog = now  // logged when the refusal began
                }
            }
            if nextProbe == nil { nextProbe = now + interval }
            guard let due = nextProbe, now >= due else { continue }
            if mode.isRejectingAll {
                // Only an accepted real event ends a rejection storm; nothing ready: try at the next tick.
                guard await probeWithEvent() else { continue }
            } else {
                await probe()
            }
            interval = min(interval * 2, configuration.probeIntervalMax)
            nextProbe = .now + interval
        }
    }

    /// One probe: a request that carries no event (an empty batch on `/sdk/batch`, or an empty track
    /// body on the per-event endpoint). Any answer other than a retryable failure or a refusal means June is back.
    func probe() async {
        let refused = state.withLock { if case .refused = $0.mode { true } else { false } }
        if refused, let beforeProbe { await beforeProbe() }
        metrics.probes.increment()
        let outcome: SendOutcome
        switch configuration.delivery {
        case .single:
            outcome = await sender.send(Self.probeRequest)
        case .batch:
            outcome = await sender.send(batch: [])
        }
        let now = ContinuousClock.now
        logger.debug("June probed", metadata: ["june.outcome": "\(outcome)"])
        switch outcome {
        case .delivered, .rejected:
            noteTransition(state.withLock { $0.recordAnswered(at: now) })
        case .refused(let status, let message):
            noteTransition(state.withLock { $0.recordRefused(status: status, at: now) }, message: message)
        case .retryable:
            state.withLock { $0.probeFailedRetryably() }
        }
    }

    /// A probe while June rejects every event: one real event (the head of a ready lane), sent as an
    /// ordinary job outside the in-flight limit (which is 0 meanwhile). Delivered, it ends the storm;
    /// rejected, it is held back, not dead-lettered. Returns false when no lane was ready.
    func probeWithEvent() async -> Bool {
        guard let job = state.withLock({ $0.takeProbeJob(at: .now) }) else { return false }
        metrics.probes.increment()
        let jobs = await run(job)
        startWorkers((jobs.next.map { [$0] } ?? []) + jobs.extra)
        return true
    }

    /// The per-event probe: `POST /api/track` with `{}`. June answers it 400 (fields missing) when it is
    /// up and takes the key, 401 when it refuses the key, 5xx when it is down.
    static let probeRequest = JuneRequest(type: .track, body: Array("{}".utf8), orderingKey: nil)
}
