import Kafka
import Metrics
import Synchronization

/// librdkafka's statistics reports (``KafkaStatistics``) as relay metrics, for when Kafka is slow:
///
/// | name | type | labels | help |
/// | --- | --- | --- | --- |
/// | `relay_kafka_broker_rtt_seconds` | gauge | broker | average request round-trip time to the broker |
/// | `relay_kafka_fetch_queue_messages` | gauge | — | records prefetched by librdkafka, not yet polled |
/// | `relay_kafka_group_state` | gauge | — | 1 while the group member is joined and steady |
/// | `relay_kafka_rebalance_age_seconds` | gauge | — | time since the group's last rebalance |
///
/// Updated once per `statistics.interval.ms` (15 s unless `--kafka-config` says otherwise).
final class KafkaStatisticsMetrics: Sendable {
    private let fetchQueue = Gauge(label: "relay_kafka_fetch_queue_messages")
    private let groupState = Gauge(label: "relay_kafka_group_state")
    private let rebalanceAge = Gauge(label: "relay_kafka_rebalance_age_seconds")
    /// One gauge per broker name; brokers are few and stable (the cluster's nodes).
    private let roundTrips = Mutex<[String: Gauge]>([:])

    init() {
        // Exported from the start: "not joined" until the first report says otherwise.
        groupState.record(0)
    }

    func record(_ statistics: KafkaStatistics) {
        fetchQueue.record(statistics.fetchQueueMessages)
        if let group = statistics.group {
            groupState.record(group.isSteady ? 1 : 0)
            rebalanceAge.record(group.rebalanceAge.seconds)
        }
        for broker in statistics.brokers {
            guard let average = broker.roundTripAverage else { continue }
            gauge(broker: broker.name).record(average.seconds)
        }
    }

    private func gauge(broker: String) -> Gauge {
        roundTrips.withLock { gauges in
            if let gauge = gauges[broker] { return gauge }
            let gauge = Gauge(label: "relay_kafka_broker_rtt_seconds", dimensions: [("broker", broker)])
            gauges[broker] = gauge
            return gauge
        }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
