import JuneTransform
import Dispatch
import Logging
import Kafka

/// The pipeline's shutdown: drain, final commit, leave the group, flush the dead-letter producer.
extension Pipeline {
    /// Commits the final offsets. If the group is rebalancing, keeps polling, so librdkafka can finish the
    /// rebalance through our callbacks (which lift the commit hold), and retries until `deadline`.
    ///
    /// A final commit can meet a rebalance that another member's leaving started (a rolling restart): in
    /// librdkafka 2.0.2 a commit queued behind this member's JoinGroup is answered ILLEGAL_GENERATION and
    /// the assignment is lost (librdkafka issue #4059). The offsets are then kept as unconfirmed, the
    /// polling lets the member rejoin, and the assignment handler commits them when the partitions come
    /// back; this waits for that as long as the deadline allows. Records polled meanwhile are dropped:
    /// they are never marked done, so their offsets are not committed.
    func finalCommit(until deadline: ContinuousClock.Instant) async {
        let owned = state.withLock { $0.beginFinalCommit() }
        while ContinuousClock.now < deadline {
            let hold = state.withLock { $0.commitsHeld(at: .now) }
            if !hold {
                let remaining = max(deadline - ContinuousClock.now, .milliseconds(100))
                if let error = await commitMoved(timeout: remaining, operation: "final commit") {
                    guard error.isGroupRebalancing || error.isRetriable else { return }
                } else if state.withLock({ owned.isDisjoint(with: $0.unconfirmedCommits.keys) }) {
                    return
                }
            }
            guard ContinuousClock.now < deadline else { break }
            _ = try? await consumer.poll(maxMessages: 100, timeout: .milliseconds(200))
        }
        logger.warning("Final commit did not succeed before its deadline; the next owner re-delivers from the last committed offset")
    }

    /// Stops new work, waits for in-flight jobs up to the drain timeout, commits, leaves the group and
    /// flushes the dead-letter producer. Each step is bounded, Kafka reachable or not, and the budget
    /// runs from the stop request: the drain ends by the drain timeout after it, the final commit (and
    /// every rebalance callback during it, see ``SharedRelayWork/callbackBudget(_:floor:)``) by
    /// 13 s after that, then both closes side by side in 5 s (callbacks during the close get 4 s):
    /// at most the drain timeout plus 18 s, within the spec's 20 s.
    func shutDown() async {
        requestStop()
        let stopAt = state.stopRequestedAt ?? .now
        logger.info("Draining in-flight events")
        state.withLock { $0.beginDraining() }
        let drained = await waitForJobs(in: nil, timeout: max(.zero, stopAt + configuration.drainTimeout - .now))
        if !drained {
            let abandoned = state.withLock { $0.activeRecords(in: nil) }
            logger.warning("Drain timeout reached; in-flight events will be re-delivered", metadata: [PipelineLoggingKeys.count: "\(abandoned)"])
        }
        let commitDeadline = max(stopAt + configuration.drainTimeout + Self.finalCommitLimit, .now + .seconds(1))
        state.limitCallbacks(until: commitDeadline)
        await finalCommit(until: commitDeadline)
        // A revoke during the close (the member leaves) may still drain and commit, in the close's time.
        state.limitCallbacks(until: .now + Self.closeLimit - .seconds(1))
        // The two clients are independent: close them side by side, so the whole stays within its bound.
        async let deadLettersClosed: Void = deadLetters.close(timeout: Self.closeLimit)
        do {
            try await consumer.close(timeout: Self.closeLimit)
        } catch {
            logger.warning("Closing the consumer failed", metadata: [PipelineLoggingKeys.error: "\(error)"])
        }
        await deadLettersClosed
        state.withLock { $0.stop() }
        updateGauges()
        logger.info("Pipeline stopped")
    }

    /// Longest final commit and longest close of each Kafka client at shutdown.
    /// The final commit may wait out one rebalance of the group (another member leaving at the same time).
    static let finalCommitLimit: Duration = .seconds(13)
    static let closeLimit: Duration = .seconds(5)

    /// Waits (without polling) until no job holds records of `partitions` (nil: any), at most `timeout`.
    /// Returns false on timeout.
    func waitForJobs(in partitions: Set<KafkaTopicPartition>?, timeout: Duration) async -> Bool {
        guard let signal = state.withLock({ $0.drainSignal(for: partitions) }) else { return true }
        let drained = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: signal.wait(timeout: .now() + timeout.inSeconds) == .success)
            }
        }
        if !drained { state.withLock { $0.removeDrainSignal(signal) } }
        return drained
    }
}
