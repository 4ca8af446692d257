import JuneTransform
import Kafka
import Metrics
import Synchronization

/// librdkafka's statistics reports (``KafkaStatistics``) as relay metrics, for when Kafka is slow: the
/// `relay_kafka_*` entries of ``RelayMetricCatalog``. Updated once per `statistics.interval.ms` (15 s
/// unless `--kafka-config` says otherwise).
public final class KafkaStatisticsMetrics: Sendable {
    private let fetchQueue = RelayMetricCatalog.kafkaFetchQueue.gauge()
    private let groupState = RelayMetricCatalog.kafkaGroupState.gauge()
    private let rebalanceAge = RelayMetricCatalog.kafkaRebalanceAge.gauge()
    /// One gauge per broker name; brokers are few and stable (the cluster's nodes).
    private let roundTrips = Mutex<[String: Gauge]>([:])

    public init() {
        // Exported from the start: "not joined" until the first report says otherwise.
        groupState.record(0)
    }

    public func record(_ statistics: KafkaStatistics) {
        fetchQueue.record(statistics.fetchQueueMessages)
        if let group = statistics.group {
            groupState.record(group.isSteady ? 1 : 0)
            rebalanceAge.record(group.rebalanceAge.inSeconds)
        }
        for broker in statistics.brokers {
            guard let average = broker.roundTripAverage else { continue }
            gauge(broker: broker.name).record(average.inSeconds)
        }
    }

    private func gauge(broker: String) -> Gauge {
        roundTrips.withLock { gauges in
            if let gauge = gauges[broker] { return gauge }
            let gauge = RelayMetricCatalog.kafkaBrokerRTT.gauge(broker)
            gauges[broker] = gauge
            return gauge
        }
    }
}
