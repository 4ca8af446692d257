import Kafka
import Testing
import TestSupport

@Suite struct KafkaProducerTests {
    @Test func brokerRejectionSurfacesAsTypedError() async throws {
        let topic = uniqueName("reject")
        let kafka = try KafkaFixture(topics: [topic: 1])
        let (cluster, producer) = (kafka.cluster, kafka.producer)
        // Warm up (metadata, producer id) so the injected error hits the Produce request.
        _ = try await producer.send(KafkaProducerRecord(topic: topic, value: [1]))

        cluster.pushRequestErrors(apiKey: KafkaMockCluster.APIKey.produce, errors: [KafkaError.Code.messageSizeTooLarge])
        let error = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, value: [2]))
        }
        #expect(error?.code == KafkaError.Code.messageSizeTooLarge)
        #expect(error?.isRetriable == false)
        #expect(error?.isFatal == false)
        #expect(error?.message.contains(topic) == true)

        // An authorization failure marks the topic failed in librdkafka: later sends to it fail at once,
        // still as a typed error.
        let forbidden = uniqueName("forbidden")
        try cluster.createTopic(forbidden, partitions: 1)
        _ = try await producer.send(KafkaProducerRecord(topic: forbidden, value: [1]))
        cluster.pushRequestErrors(apiKey: KafkaMockCluster.APIKey.produce, errors: [KafkaError.Code.topicAuthorizationFailed])
        let authorization = await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaProducerRecord(topic: forbidden, value: [2]))
        }
        #expect(authorization?.code == KafkaError.Code.topicAuthorizationFailed)

        // Retriable errors are retried by librdkafka (idempotent producer) and the record is delivered.
        cluster.pushRequestErrors(
            apiKey: KafkaMockCluster.APIKey.produce, errors: [KafkaError.Code.requestTimedOut, KafkaError.Code.requestTimedOut])
        let report = try await producer.send(KafkaProducerRecord(topic: topic, value: [3]))
        #expect(report.partition == 0)
        await producer.close()
        await producer.close()  // idempotent
        await #expect(throws: KafkaError.self) { _ = try await producer.send(KafkaProducerRecord(topic: topic, value: [4])) }
    }

    @Test func manyConcurrentSendsAllGetReports() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("many")
        try cluster.createTopic(topic, partitions: 3)
        var configuration = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        configuration.additionalProperties = ["queue.buffering.max.messages": "50"]  // forces queue-full retries
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestClient.logger)
        let offsets = try await withThrowingTaskGroup(of: KafkaDeliveryReport.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await producer.send(KafkaProducerRecord(topic: topic, key: Array("k\(index % 7)".utf8), value: [UInt8(index % 256)]))
                }
            }
            return try await group.reduce(into: [KafkaDeliveryReport]()) { $0.append($1) }
        }
        #expect(offsets.count == 500)
        #expect(Set(offsets.map { "\($0.partition)/\($0.offset)" }).count == 500)
        try await producer.flush(timeout: .seconds(5))
        await producer.close()
    }
}
