import Foundation
import Kafka
import Synchronization
import Testing
import TestSupport

/// librdkafka statistics: the fields read from a report, and reports delivered by a real consumer.
@Suite struct KafkaStatisticsTests {
    /// Trimmed from a librdkafka 2.0.2 consumer report (field names as in librdkafka's STATISTICS.md).
    static let report = #"""
        {"name":"rdkafka#consumer-1","type":"consumer","ts":1,"replyq":0,"msg_cnt":0,
         "brokers":{
           "127.0.0.1:9092/bootstrap":{"name":"127.0.0.1:9092/bootstrap","nodeid":-1,"source":"configured",
             "rtt":{"min":0,"max":0,"avg":0,"cnt":0}},
           "127.0.0.1:9093/2":{"name":"127.0.0.1:9093/2","nodeid":2,"source":"learned",
             "rtt":{"min":100,"max":9000,"avg":2500,"cnt":12}},
           "127.0.0.1:9092/1":{"name":"127.0.0.1:9092/1","nodeid":1,"source":"configured",
             "rtt":{"min":0,"max":0,"avg":0,"cnt":0}},
           "GroupCoordinator":{"name":"GroupCoordinator","nodeid":1,"source":"logical",
             "rtt":{"min":10,"max":10,"avg":10,"cnt":1}}},
         "topics":{
           "events":{"topic":"events","partitions":{
             "0":{"partition":0,"fetchq_cnt":120,"fetchq_size":4096},
             "1":{"partition":1,"fetchq_cnt":30,"fetchq_size":1024},
             "-1":{"partition":-1,"fetchq_cnt":7}}}},
         "cgrp":{"state":"up","stateage":9000,"join_state":"steady","rebalance_age":42500,"rebalance_cnt":3,
           "rebalance_reason":"","assignment_size":2}}
        """#

    @Test func readsTheFieldsOperatorsWatch() throws {
        let statistics = try #require(KafkaStatistics(json: Array(Self.report.utf8)))
        #expect(
            statistics.brokers == [
                KafkaStatistics.Broker(name: "127.0.0.1:9092/1", roundTripAverage: nil),
                KafkaStatistics.Broker(name: "127.0.0.1:9093/2", roundTripAverage: .microseconds(2500)),
            ])
        #expect(statistics.fetchQueueMessages == 150)
        #expect(statistics.group == KafkaStatistics.Group(state: "up", joinState: "steady", rebalanceAge: .milliseconds(42500), rebalanceCount: 3))
        #expect(statistics.group?.isSteady == true)
    }

    @Test func groupIsNotSteadyWhileRebalancing() throws {
        let rebalancing = Self.report.replacingOccurrences(of: #""join_state":"steady""#, with: #""join_state":"wait-join""#)
        let statistics = try #require(KafkaStatistics(json: Array(rebalancing.utf8)))
        #expect(statistics.group?.isSteady == false)
    }

    @Test func producerReportHasNoGroupAndGarbageIsRejected() throws {
        let producer = try #require(KafkaStatistics(json: Array(#"{"name":"rdkafka#producer-1","type":"producer","brokers":{}}"#.utf8)))
        #expect(producer.group == nil && producer.brokers.isEmpty && producer.fetchQueueMessages == 0)
        #expect(KafkaStatistics(json: Array("not json".utf8)) == nil)
        #expect(KafkaStatistics(json: Array("[1,2]".utf8)) == nil)
    }

    @Test func statisticsIntervalIsSetOnlyWithAHandler() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "localhost:9092", groupID: "g")
        #expect(configuration.properties()["statistics.interval.ms"] == nil)
        configuration.statisticsHandler = { _ in }
        #expect(configuration.properties()["statistics.interval.ms"] == "15000")
        configuration.statisticsInterval = .milliseconds(250)
        #expect(configuration.properties()["statistics.interval.ms"] == "250")
        configuration.additionalProperties["statistics.interval.ms"] = "1000"
        #expect(configuration.properties()["statistics.interval.ms"] == "1000")
    }

    /// A consumer joined to a group on the mock cluster reports statistics through its polls.
    @Test(.timeLimit(.minutes(1)))
    func consumerDeliversReportsWhilePolling() async throws {
        let (cluster, partition) = try await KafkaFixture.clusterWithRecords("stats", count: 20)
        let reports = Mutex<[KafkaStatistics]>([])
        var configuration = cluster.testClient.consumerConfiguration(group: uniqueName("stats"))
        configuration.statisticsInterval = .milliseconds(100)
        configuration.statisticsHandler = { statistics in reports.withLock { $0.append(statistics) } }
        let consumer = try KafkaConsumer(configuration: configuration, logger: KafkaTestClient.logger)
        try consumer.subscribe(topics: [partition.topic])
        let messages = try await KafkaTestClient.poll(consumer, count: 20)
        #expect(messages.count == 20)
        let steady = try await KafkaTestClient.poll([consumer], within: .seconds(20)) {
            reports.withLock { $0.contains { $0.group?.isSteady == true && !$0.brokers.isEmpty } }
        }
        #expect(steady, "reports: \(reports.withLock { $0.suffix(3) })")
        #expect(reports.withLock { $0.allSatisfy { $0.group != nil } })
        try await consumer.close()
        _ = cluster
    }
}
