import Dispatch

extension DispatchQueue {
    /// Runs a blocking librdkafka call on this queue (never on Swift's cooperative pool) and awaits it.
    /// Cancellation is not forwarded: the call always runs to completion (every call has a timeout).
    func runBlocking<T: Sendable>(
        _ body: @escaping @Sendable () throws(KafkaError) -> T
    ) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { continuation in
            self.async {
                continuation.resume(returning: Result { () throws(KafkaError) -> T in try body() })
            }
        }
        return try result.get()
    }
}

extension DispatchQueue {
    /// Runs a blocking call that cannot fail on this queue and awaits it.
    func runNonThrowing(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.async {
                body()
                continuation.resume()
            }
        }
    }
}
