import CoreMetrics
import Logging

// MARK: - Pipeline + June's health transitions (logs, gauges, refusal hints)

extension Pipeline {
    /// Acts on a change of June's health: logs it, sets the gauges, and restarts work on recovery.
    func noteTransition(_ transition: RelayWork.Transition?, message: String? = nil) {
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
}
