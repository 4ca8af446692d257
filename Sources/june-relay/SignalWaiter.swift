import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM without blocking a thread (for `dev-broker` and `june-stub`).
enum SignalWaiter {
    static func waitForTermination() async -> Int32 {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "june-relay.signals")
            let once = OnceFlag()
            var sources: [any DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler {
                    if once.set() {
                        sources.forEach { $0.cancel() }
                        continuation.resume(returning: signalNumber)
                    }
                }
                source.resume()
                sources.append(source)
            }
            _ = sources
        }
    }
}

/// A flag set once, used on the signal queue only.
private final class OnceFlag: @unchecked Sendable {
    // Safe: only touched from the serial signal queue.
    private var isSet = false

    func set() -> Bool {
        if isSet { return false }
        isSet = true
        return true
    }
}
