import CoreMetrics
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging

// MARK: - Pipeline + June's health (outages, refusals, probes)

extension Pipeline {
    /// Acts on a change of June's health: logs it, sets the gauges, and restarts work on recovery.
    func noteTransition(_ transition: PipelineState.Transition?, message: String? = nil) {
        guard let transition else { return }
        // Every transition restarts the concurrency limiter's slow start.
        metrics.concurrencyLimit.record(state.withLock { $0.limiter.limit })
        switch transition {
        case .outageBegan:
            metrics.outage.record(1)
            logger.error(
                "June outage detected: pausing consumption and probing",
                metadata: [PipelineLoggingKeys.errorReason: "\(message ?? "")"]
            )
        case .refusalBegan(let status):
            metrics.outage.record(0)
            metrics.recordRefusal(label: String(status))
            logRefusal(status: status, message: message)
        case .rejectingAllBegan(let status):
            metrics.outage.record(0)
            metrics.recordRefusal(label: PipelineMode.rejectingAllLabel)
            logRefusal(status: status, rejectingAll: true, message: message)
        case .recovered(let duration, let wasRefused):
            metrics.outage.record(0)
            metrics.recordRefusal(label: nil)
            logger.info(
                wasRefused ? "June accepts the relay again: resuming" : "June answers again: resuming",
                metadata: [PipelineLoggingKeys.duration: "\(duration)"]
            )
            startReadyJobs()
        }
    }

    func logRefusal(status: Int, rejectingAll: Bool = false, message: String?) {
        logger.error(
            rejectingAll
                ? "June rejects every event of many users: consumption paused, nothing more is dead-lettered; probing with a real event until June accepts one"
                : "June refuses the relay: consumption paused, nothing is dead-lettered; probing until June accepts",
            metadata: [
                PipelineLoggingKeys.statusCode: "\(status)",
                PipelineLoggingKeys.hint: "\(Self.refusalHint(status, rejectingAll: rejectingAll))",
                PipelineLoggingKeys.errorReason: "\(message ?? "")",
            ]
        )
    }

    /// What a refusal status usually means, for the operator reading the log.
    static func refusalHint(_ status: Int, rejectingAll: Bool = false) -> String {
        if rejectingAll {
            return "June rejected \(JuneHealth.stormRejections) events of \(JuneHealth.stormUsers) or more users in a row and accepted none: "
                + "its API or the --june-url changed, not the events"
        }
        return switch status {
        case 401, 403: "the write key is wrong, revoked or rotated: fix JUNE_WRITE_KEY or the --write-key-file secret"
        case 404, 405: "the June URL is wrong (--june-url): nothing answers the tracking API there"
        case 410: "the June endpoint is gone (retired): check --june-url and --delivery"
        case 407: "an egress proxy requires authentication: check HTTPS_PROXY credentials"
        case 300..<400: "June's URL redirects: a proxy or a wrong --june-url is in the way"
        default: "June does not accept the relay's requests"
        }
    }

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
        let job: PipelineJob? = state.withLock { state in
            guard state.mode.isRejectingAll, let run = state.lanes.takeRun(maxRecords: 1) else { return nil }
            let record = run[0]
            let job: PipelineJob
            if case .failure = record.request {
                job = .invalid(record)
            } else if configuration.delivery == .batch, isBatchable(record) {
                job = .batch(run, deadline: ContinuousClock.now + configuration.requestTimeout)
            } else {
                job = .deliver(record)
            }
            state.startJob(job.records)
            return job
        }
        guard let job else { return false }
        metrics.probes.increment()
        let records = await run(job)
        state.withLock { $0.endJob(records) }
        return true
    }

    /// The per-event probe: `POST /api/track` with `{}`. June answers it 400 (fields missing) when it is
    /// up and takes the key, 401 when it refuses the key, 5xx when it is down.
    static let probeRequest = JuneRequest(type: .track, body: Array("{}".utf8), orderingKey: nil)
}

// MARK: - Pipeline + status

extension Pipeline {
    /// A snapshot for progress displays, health checks and `/status`.
    public struct Snapshot: Sendable {
        public var mode: String
        /// When the outage or refusal began, in seconds before now.
        public var unavailableFor: Double?
        public var refusedStatus: Int?
        /// Why June is considered to refuse the relay: `HTTP <status>`, or `rejecting-all`.
        public var refusedReason: String?
        public var assignedPartitions: Int
        public var inFlight: Int
        /// June requests that may be outstanding while running (`--concurrency`).
        public var concurrencyLimit: Int
        /// The limiter's round-trip-time baseline, in seconds; nil before the first measured window.
        public var rttBaseline: Double?
        public var buffered: Int
        public var bufferedBytes: Int
        public var uncommitted: Int64
        public var hasJoined: Bool
        public var inOutage: Bool { mode == "outage" }
        public var isRefused: Bool { mode == "refused" }
    }

    public var snapshot: Snapshot {
        let now = ContinuousClock.now
        return state.withLock { state in
            var refusedStatus: Int?
            var refusedReason: String?
            if case .refused(_, let status, let rejectingAll) = state.mode {
                refusedStatus = status
                refusedReason = rejectingAll ? PipelineMode.rejectingAllLabel : "HTTP \(status)"
            }
            return Snapshot(
                mode: state.mode.name,
                unavailableFor: state.mode.unavailableSince.map { (now - $0).timeInterval },
                refusedStatus: refusedStatus,
                refusedReason: refusedReason,
                assignedPartitions: state.assigned.count,
                inFlight: state.inFlight,
                concurrencyLimit: state.limiter.limit,
                rttBaseline: state.limiter.baselineRTT?.timeInterval,
                buffered: state.tracker.totalUnfinished,
                bufferedBytes: state.lanes.queuedBytes,
                uncommitted: state.assigned.reduce(0) { $0 + state.tracker.uncommittedCount($1) },
                hasJoined: state.hasJoined
            )
        }
    }

    /// Readiness: joined the group and received an assignment (even an empty one), not stopping. Not
    /// tied to June's health: an outage would make every replica unready at once.
    public var isReady: Bool {
        state.withLock { $0.hasJoined && $0.mode != .draining && $0.mode != .stopped }
    }

    /// Liveness: the fetch loop turned within the watchdog timeout and no Kafka client is fatal.
    /// Returns the reason when unhealthy.
    public var unhealthyReason: String? {
        if let fatal = deadLetters.fatalError { return "dead-letter producer fatal: \(fatal.message)" }
        let sinceTurn = timeSinceLoopTurn
        let stopping = state.withLock { $0.isStopping }
        if !stopping, sinceTurn > configuration.watchdogTimeout {
            return "fetch loop has not turned for \(Int(sinceTurn.timeInterval)) s"
        }
        return nil
    }

    /// `/status` as JSON.
    public func statusJSON() -> String {
        let snapshot = self.snapshot
        var fields = [
            "\"mode\":\"\(snapshot.mode)\"",
            "\"ready\":\(isReady)",
            "\"assignedPartitions\":\(snapshot.assignedPartitions)",
            "\"inFlight\":\(snapshot.inFlight)",
            "\"concurrency\":\"\(configuration.concurrency.rawValue)\"",
            "\"concurrencyLimit\":\(snapshot.concurrencyLimit)",
            "\"buffered\":\(snapshot.buffered)",
            "\"bufferedBytes\":\(snapshot.bufferedBytes)",
            "\"uncommitted\":\(snapshot.uncommitted)",
            "\"delivery\":\"\(configuration.delivery.rawValue)\"",
        ]
        if let rtt = snapshot.rttBaseline { fields.append("\"rttBaselineSeconds\":\(String(format: "%.4f", rtt))") }
        if let since = snapshot.unavailableFor { fields.append("\"unavailableForSeconds\":\(String(format: "%.1f", since))") }
        if let status = snapshot.refusedStatus, let reason = snapshot.refusedReason {
            fields.append("\"refusedStatus\":\(status)")
            fields.append("\"refusedReason\":\"\(reason)\"")
            fields.append("\"refusedHint\":\"\(Self.refusalHint(status, rejectingAll: reason == PipelineMode.rejectingAllLabel))\"")
        }
        if let reason = unhealthyReason { fields.append("\"unhealthy\":\"\(reason)\"") }
        return "{" + fields.joined(separator: ",") + "}\n"
    }

    func updateGauges() {
        let snapshot = self.snapshot
        metrics.inFlight.record(snapshot.inFlight)
        metrics.buffered.record(snapshot.buffered)
        metrics.bufferedBytes.record(snapshot.bufferedBytes)
        metrics.outage.record(snapshot.inOutage ? 1 : 0)
        metrics.assigned.record(snapshot.assignedPartitions)
        metrics.concurrencyLimit.record(snapshot.concurrencyLimit)
        if let baseline = snapshot.rttBaseline { metrics.rttBaseline.record(baseline) }
        let now = ContinuousClock.now
        let backlog: [(KafkaTopicPartition, Int64, Duration?, Int64?)] = state.withLock { state in
            state.assigned.map { partition in
                let offsets = state.tracker.partitions[partition]
                return (
                    partition,
                    offsets?.uncommittedCount ?? 0,
                    offsets?.oldestUnfinishedSince.map { now - $0 },
                    offsets?.lastCommitted?.offset
                )
            }
        }
        for (partition, uncommitted, oldest, committed) in backlog {
            metrics.recordPartitionBacklog(partition, uncommitted: uncommitted, oldestPending: oldest)
            // Lag: librdkafka's cached high watermark (non-blocking, from fetch responses) minus committed.
            guard let (low, high) = consumer.watermarks(partition), high >= 0 else { continue }
            metrics.recordLag(partition, lag: max(0, high - (committed ?? low)))
        }
    }
}
