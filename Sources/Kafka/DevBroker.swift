import Dispatch
import Foundation
import Logging

/// What `june-relay dev-broker` runs: a ``KafkaMockCluster`` with the requested topics.
///
/// ```swift
/// let broker = try DevBroker.start(topics: ["events"], logger: logger)
/// print(broker.bootstrapServers)          // first stdout line
/// let signal = await DevBroker.waitForTerminationSignal()
/// withExtendedLifetime(broker) {}          // the cluster lives until `broker` is released
/// ```
public enum DevBroker {
    /// Brokers in the dev cluster. Default of `--brokers`: 3.
    public static let defaultBrokers = 3
    /// Partitions of each `--topic`. Default of `--partitions`: 4 (also what the mock cluster gives a topic
    /// it auto-creates on produce).
    public static let defaultPartitions = 4

    /// Starts a mock cluster and creates `topics` with `partitions` partitions each.
    public static func start(
        brokers: Int = defaultBrokers,
        topics: [String] = [],
        partitions: Int = defaultPartitions,
        logger: Logger
    ) throws(KafkaError) -> KafkaMockCluster {
        guard brokers > 0 else { throw KafkaError.invalidArgument("--brokers must be at least 1") }
        guard partitions > 0 else { throw KafkaError.invalidArgument("--partitions must be at least 1") }
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for topic in topics {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: min(brokers, 3))
        }
        logger.info(
            "Dev broker started",
            metadata: [
                KafkaLoggingKeys.bootstrapServers: "\(cluster.bootstrapServers)",
                KafkaLoggingKeys.topic: "\(topics.joined(separator: ","))",
            ]
        )
        return cluster
    }

    /// Waits for SIGINT or SIGTERM (their default action is replaced, so the process does not die) and
    /// returns the signal number.
    public static func waitForTerminationSignal() async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let queue = DispatchQueue(label: "june-relay.dev-broker.signals")
            let resumed = SignalOnce(continuation)
            // Created on the signal queue, so no handler runs before the sources are stored.
            queue.sync {
                var sources: [any DispatchSourceSignal] = []
                for signalNumber in [SIGINT, SIGTERM] {
                    signal(signalNumber, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                    source.setEventHandler { resumed.resume(signalNumber) }
                    source.resume()
                    sources.append(source)
                }
                resumed.keepAlive(sources)
            }
        }
    }
}

/// Resumes the continuation once; keeps the signal sources alive until then.
///
/// `@unchecked Sendable`: every access happens on the one serial signal queue, or before its sources
/// were resumed.
private final class SignalOnce: @unchecked Sendable {
    private var continuation: CheckedContinuation<Int32, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Int32, Never>) {
        self.continuation = continuation
    }

    func keepAlive(_ sources: [any DispatchSourceSignal]) {
        self.sources = sources
    }

    func resume(_ signalNumber: Int32) {
        continuation?.resume(returning: signalNumber)
        continuation = nil
        for source in sources { source.cancel() }
        sources = []
    }
}
