import CoreMetrics
import Foundation
import JuneClient
import JuneTransform
import Kafka
import Logging

// MARK: - Pipeline + workers

extension Pipeline {
    /// Starts a worker for `job`. A worker keeps taking jobs from ready lanes until none is ready or the
    /// in-flight limit is reached, so workers exist only while there is work.
    func startWorker(_ job: RelayEvent) {
        Task { await self.work(job) }
    }

    /// Starts as many workers as there are ready lanes and free slots (after an outage ends).
    func startReadyWorkers() {
        while let job = state.withLock({ $0.lanes.next() }) {
            startWorker(job)
        }
    }

    private func work(_ first: RelayEvent) async {
        var job: RelayEvent? = first
        while let event = job {
            job = await process(event)
        }
    }

    /// Handles one lane head and returns the next job for this worker.
    private func process(_ event: RelayEvent) async -> RelayEvent? {
        switch event.request {
        case .failure(let error):
            let reason: DeadLetterReason = error.reason == .invalidJSON ? .invalidJSON : .invalidEvent
            return await deadLetterAndFinish(event, reason: reason, message: error.message, httpStatus: nil)
        case .success(let request):
            return await deliver(event, request: request)
        }
    }

    private func deliver(_ original: RelayEvent, request: JuneRequest) async -> RelayEvent? {
        var event = original
        let started = ContinuousClock.now
        if event.firstAttempt == nil {
            event.firstAttempt = started
            event.outageTimeAtFirstAttempt = state.withLock { $0.outageTime(at: started) }
        }
        event.attempts += 1
        var outcome = await sender.send(request)
        // A refusal of the relay is handled like a retryable answer for now.
        if case .refused(let status, let message) = outcome {
            outcome = .retryable(status: status, retryAfter: nil, message: message)
        }
        let now = ContinuousClock.now
        switch outcome {
        case .delivered:
            metrics.recordRequest(request.type, outcome: .delivered, duration: now - started)
            metrics.recordDelivered(request.type)
            noteAnswer(key: event.lane.key, at: now)
            return finish(event)

        case .rejected(let status, let message):
            metrics.recordRequest(request.type, outcome: .rejected, duration: now - started)
            noteAnswer(key: event.lane.key, at: now)
            logger.warning(
                "June rejected an event",
                metadata: eventMetadata(event, ["http.response.status_code": "\(status)"])
            )
            return await deadLetterAndFinish(event, reason: .rejected, message: message, httpStatus: status)

        case .refused:
            preconditionFailure("turned into .retryable above")

        case .retryable(let status, let retryAfter, let message):
            metrics.recordRequest(request.type, outcome: .retryable, duration: now - started)
            let (enteredOutage, inOutage, budgetUsed) = state.withLock { state in
                let entered = state.recordFailure(key: event.lane.key, at: now)
                let outageDuring = state.outageTime(at: now) - event.outageTimeAtFirstAttempt
                return (entered, state.isInOutage, (now - event.firstAttempt!) - outageDuring)
            }
            if enteredOutage {
                logger.error("June outage detected: pausing consumption and probing", metadata: ["reason": "\(message)"])
            }
            if !inOutage, configuration.retryPolicy.isExhausted(elapsed: budgetUsed) {
                logger.warning(
                    "Retry budget exhausted",
                    metadata: eventMetadata(event, ["retry.attempt": "\(event.attempts)"])
                )
                return await deadLetterAndFinish(event, reason: .retriesExhausted, message: message, httpStatus: status)
            }
            metrics.retries.increment()
            var rng = SystemRandomNumberGenerator()
            var delay = configuration.retryPolicy.delay(attempt: event.attempts, retryAfter: retryAfter, using: &rng)
            if inOutage {
                delay = min(delay, max(configuration.outageProbeInterval, retryAfter ?? .zero))
            }
            logger.debug(
                "June request will be retried",
                metadata: eventMetadata(event, ["retry.attempt": "\(event.attempts)", "retry.delay": "\(delay)"])
            )
            if inOutage {
                // The one slot left during an outage is the probe: space probes out instead of cycling
                // through every waiting lane back to back.
                try? await Task.sleep(for: configuration.outageProbeSpacing)
            }
            // Defer first, then start the timer: the timer must find the lane waiting, not running.
            let next = state.withLock { $0.lanes.deferRetry(event) }
            scheduleRetry(event, after: delay)
            return next
        }
    }

    /// Marks the event done (offset tracker) and advances its lane. Stale results (the partition was
    /// revoked meanwhile) change no offset.
    private func finish(_ event: RelayEvent) -> RelayEvent? {
        state.withLock { state in
            state.tracker.markDone(event.lane.partition, offset: event.message.offset, generation: event.generation)
            return state.lanes.finish(event)
        }
    }

    private func noteAnswer(key: String?, at now: ContinuousClock.Instant) {
        let recovered = state.withLock { $0.recordAnswer(key: key, at: now) }
        if recovered {
            logger.info("June answers again: resuming")
            startReadyWorkers()
        }
    }

    private func scheduleRetry(_ event: RelayEvent, after delay: Duration) {
        Task {
            try? await Task.sleep(for: delay)
            if let job = self.state.withLock({ $0.lanes.retryDue(event) }) {
                await self.work(job)
            }
        }
    }

    // MARK: - Dead letters

    /// Dead-letters the event; only an acknowledged write makes its offset done.
    private func deadLetterAndFinish(
        _ event: RelayEvent,
        reason: DeadLetterReason,
        message: String,
        httpStatus: Int?
    ) async -> RelayEvent? {
        if await deadLetter(event, reason: reason, message: message, httpStatus: httpStatus) {
            return finish(event)
        }
        return state.withLock { $0.lanes.abandon(event) }
    }

    /// Writes the record to the dead-letter topic and waits for the broker's acknowledgement, retrying
    /// until it is acknowledged: the source offset is never done before that (spec §6). Gives up only
    /// when the partition was revoked (the new owner will handle the record) or at shutdown.
    private func deadLetter(_ event: RelayEvent, reason: DeadLetterReason, message: String, httpStatus: Int?) async -> Bool {
        let record = DeadLetterRecord.make(
            for: event.message,
            topic: configuration.deadLetterTopic,
            reason: reason,
            errorMessage: message,
            httpStatus: httpStatus,
            attempts: max(event.attempts, 1)
        )
        var failures = 0
        while true {
            do {
                _ = try await producer.send(record)
                metrics.recordDeadLettered(reason)
                logger.debug("Record dead-lettered", metadata: eventMetadata(event, ["error.reason": "\(reason.rawValue)"]))
                return true
            } catch {
                failures += 1
                metrics.deadLetterFailures.increment()
                logger.error(
                    "Dead-letter write failed; retrying",
                    metadata: eventMetadata(event, ["error": "\(error)", "retry.attempt": "\(failures)"])
                )
                let stale = state.withLock { state in
                    state.isStopping
                        || state.tracker.generation(of: event.lane.partition) != event.generation
                }
                if stale { return false }
                try? await Task.sleep(for: .milliseconds(min(30_000, 250 << min(failures, 7))))
            }
        }
    }

    func eventMetadata(_ event: RelayEvent, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "kafka.topic": "\(event.message.topic)",
            "kafka.partition": "\(event.message.partition)",
            "kafka.offset": "\(event.message.offset)",
        ]
        metadata.merge(extra) { _, new in new }
        return metadata
    }
}
