import Kafka

// MARK: - Pipeline + periodic commits

extension Pipeline {
    /// Commits the offsets (and done-offset metadata) that changed since the last commit. Runs on the
    /// fetch task, between polls, so it never races a revoke (rebalance callbacks run inside poll).
    ///
    /// While the group rebalances (and for a quiet period after each rebalance callback or a commit that
    /// met a rebalance) periodic commits wait: committing with an outdated generation makes librdkafka
    /// 2.0.2 drop the whole assignment (librdkafka issue #4059). Nothing is lost meanwhile; the offsets
    /// stay in the tracker and the revoke handler commits them. Returns the failure, if any.
    @discardableResult
    func commitMoved(
        now: ContinuousClock.Instant = .now,
        timeout: Duration = KafkaConsumer.commitTimeout,
        operation: String = "periodic commit"
    ) async -> KafkaError? {
        let commits = state.withLock { $0.takeCommits(at: now) }
        guard !commits.isEmpty else { return nil }
        return await committer.commit(commits, consumer: consumer, timeout: timeout, operation: operation).error
    }
}
