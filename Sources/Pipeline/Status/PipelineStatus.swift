import JuneTransform
import Foundation
import Kafka

// MARK: - Pipeline + status (snapshot, readiness, liveness, /status)

extension Pipeline {
    /// A snapshot for progress displays, health checks and `/status`.
    public struct Snapshot: Sendable {
        public var mode: PipelineMode
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
        public var inOutage: Bool { if case .outage = mode { true } else { false } }
        public var isRefused: Bool { if case .refused = mode { true } else { false } }
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
                mode: state.mode,
                unavailableFor: state.mode.unavailableSince.map { (now - $0).inSeconds },
                refusedStatus: refusedStatus,
                refusedReason: refusedReason,
                assignedPartitions: state.assigned.count,
                inFlight: state.inFlight,
                concurrencyLimit: state.limiter.limit,
                rttBaseline: state.limiter.baselineRTT?.inSeconds,
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
        if let fatal = deadLetters.fatalFailure { return "dead-letter producer fatal: \(fatal.message)" }
        let sinceTurn = timeSinceLoopTurn
        let stopping = state.withLock { $0.isStopping }
        if !stopping, sinceTurn > configuration.watchdogTimeout {
            return "fetch loop has not turned for \(Int(sinceTurn.inSeconds)) s"
        }
        return nil
    }

    /// `/status` as JSON.
    public func statusJSON() -> String {
        let snapshot = self.snapshot
        var fields = [
            "\"mode\":\"\(snapshot.mode.name)\"",
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
}
