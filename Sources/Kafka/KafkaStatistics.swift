import Foundation

/// The few numbers of librdkafka's statistics (`statistics.interval.ms`) an operator looks at when Kafka
/// is slow: round-trip time per broker, how many records wait in the consumer's fetch queue, and the
/// consumer group's state and time since the last rebalance.
///
/// librdkafka emits one JSON document per interval (its STATISTICS.md describes every field); only
/// these fields are read, everything else is ignored. Parsing happens on the consumer's poll queue
/// once per interval (15 s by default), so it is kept simple rather than fast.
public struct KafkaStatistics: Sendable, Equatable {
    /// One broker connection of the client.
    public struct Broker: Sendable, Equatable {
        /// librdkafka's broker name, `host:port/nodeid` (e.g. `127.0.0.1:9092/1`).
        public var name: String
        /// Average request round-trip time over the interval (`rtt.avg`, reported in microseconds);
        /// `nil` when no request completed in the interval (`rtt.cnt` is 0).
        public var roundTripAverage: Duration?

        public init(name: String, roundTripAverage: Duration?) {
            self.name = name
            self.roundTripAverage = roundTripAverage
        }
    }

    /// The consumer group member's view (`cgrp`).
    public struct Group: Sendable, Equatable {
        /// Coordinator state, `up` once the coordinator is known and connected (`cgrp.state`).
        public var state: String
        /// Membership state, `steady` when joined with an assignment in effect (`cgrp.join_state`).
        public var joinState: String
        /// Time since the last rebalance (`cgrp.rebalance_age`, reported in milliseconds).
        public var rebalanceAge: Duration
        /// Rebalances since the client started (`cgrp.rebalance_cnt`).
        public var rebalanceCount: Int

        /// Whether the member is joined and not rebalancing: state `up` and join state `steady`.
        public var isSteady: Bool { state == "up" && joinState == "steady" }

        public init(state: String, joinState: String, rebalanceAge: Duration, rebalanceCount: Int) {
            self.state = state
            self.joinState = joinState
            self.rebalanceAge = rebalanceAge
            self.rebalanceCount = rebalanceCount
        }
    }

    /// The cluster's brokers the client knows (with a node id), sorted by name. Bootstrap entries not
    /// yet matched to a node and librdkafka's internal and logical brokers (e.g. `GroupCoordinator`)
    /// are left out: they would duplicate the real brokers under other names.
    public var brokers: [Broker]
    /// Records prefetched and waiting in the consumer's per-partition fetch queues (sum of
    /// `topics.*.partitions.*.fetchq_cnt`): what the relay has not polled yet.
    public var fetchQueueMessages: Int
    /// Present for a consumer-group member.
    public var group: Group?

    public init(brokers: [Broker], fetchQueueMessages: Int, group: Group?) {
        self.brokers = brokers
        self.fetchQueueMessages = fetchQueueMessages
        self.group = group
    }

    /// Reads the statistics JSON. Returns `nil` when it is not a JSON object; missing fields count as
    /// absent (no broker, zero queue, no group).
    public init?(json: UnsafeRawBufferPointer) {
        guard let data = json.baseAddress.map({ Data(bytes: $0, count: json.count) }),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        self.init(root: root)
    }

    /// Reads the statistics JSON from bytes (tests, tools).
    public init?(json: [UInt8]) {
        guard let value = json.withUnsafeBytes({ KafkaStatistics(json: $0) }) else { return nil }
        self = value
    }

    private init(root: [String: Any]) {
        var brokers: [Broker] = []
        for case let broker as [String: Any] in (root["brokers"] as? [String: Any] ?? [:]).values {
            guard let name = broker["name"] as? String, Self.isClusterNode(broker) else { continue }
            let rtt = broker["rtt"] as? [String: Any]
            let samples = Self.integer(rtt?["cnt"]) ?? 0
            let average = samples > 0 ? (Self.integer(rtt?["avg"])).map { Duration.microseconds($0) } : nil
            brokers.append(Broker(name: name, roundTripAverage: average))
        }
        self.brokers = brokers.sorted { $0.name < $1.name }

        var queued = 0
        for case let topic as [String: Any] in (root["topics"] as? [String: Any] ?? [:]).values {
            for (id, partition) in topic["partitions"] as? [String: Any] ?? [:] {
                // Partition -1 is librdkafka's "unassigned" bucket for produced records.
                guard id != "-1", let partition = partition as? [String: Any] else { continue }
                queued += Self.integer(partition["fetchq_cnt"]) ?? 0
            }
        }
        self.fetchQueueMessages = queued

        if let cgrp = root["cgrp"] as? [String: Any] {
            group = Group(
                state: cgrp["state"] as? String ?? "",
                joinState: cgrp["join_state"] as? String ?? "",
                rebalanceAge: .milliseconds(Self.integer(cgrp["rebalance_age"]) ?? 0),
                rebalanceCount: Self.integer(cgrp["rebalance_cnt"]) ?? 0
            )
        } else {
            group = nil
        }
    }

    /// A real cluster node: a node id from metadata (a bootstrap entry gets one once metadata matched
    /// its address, and keeps `source` `configured`), and not one of librdkafka's `internal` or
    /// `logical` stand-ins.
    private static func isClusterNode(_ broker: [String: Any]) -> Bool {
        if let source = broker["source"] as? String, source == "internal" || source == "logical" { return false }
        return (integer(broker["nodeid"]) ?? -1) >= 0
    }

    private static func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let int as Int: int
        default: nil
        }
    }
}
