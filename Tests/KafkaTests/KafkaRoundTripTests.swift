import Kafka
import Testing
import TestSupport

@Suite struct KafkaRoundTripTests {
    @Test func producedRecordsComeBackWithHeadersTombstonesAndNilKeys() async throws {
        let topic = uniqueName("roundtrip")
        let kafka = try KafkaFixture(topics: [topic: 1])
        let (cluster, producer) = (kafka.cluster, kafka.producer)

        let records = [
            KafkaProducerRecord(
                topic: topic, key: bytes("user-1"), value: bytes("{\"a\":1}"),
                headers: [KafkaHeader(key: "h1", string: "v1"), KafkaHeader(key: "null", value: nil), KafkaHeader(key: "empty", value: [])]
            ),
            KafkaProducerRecord(topic: topic, key: nil, value: bytes("no key")),
            KafkaProducerRecord(topic: topic, key: bytes("user-1"), value: nil),
            KafkaProducerRecord(topic: topic, key: bytes("empty value"), value: []),
        ]
        var reports: [KafkaDeliveryReport] = []
        for record in records {
            reports.append(try await producer.send(record))
        }
        #expect(reports.map(\.offset) == [0, 1, 2, 3])
        #expect(reports.allSatisfy { $0.topic == topic && $0.partition == 0 })
        await producer.close()

        let consumer = try KafkaConsumer(
            configuration: cluster.testClient.consumerConfiguration(group: uniqueName("g")),
            logger: KafkaTestClient.logger
        )
        try consumer.subscribe(topics: [topic])
        let messages = try await KafkaTestClient.poll(consumer, count: 4)
        try await consumer.close()

        try #require(messages.count == 4)
        #expect(messages.map(\.offset) == [0, 1, 2, 3])
        #expect(messages[0].key == bytes("user-1"))
        #expect(messages[0].value == bytes("{\"a\":1}"))
        #expect(
            messages[0].headers == [KafkaHeader(key: "h1", string: "v1"), KafkaHeader(key: "null", value: nil), KafkaHeader(key: "empty", value: [])])
        #expect(messages[1].key == nil)
        #expect(messages[1].value == bytes("no key"))
        #expect(messages[1].headers.isEmpty)
        #expect(messages[2].value == nil, "tombstone")
        #expect(messages[2].key == bytes("user-1"))
        #expect(messages[3].value == [], "empty value is not a tombstone")
        #expect(messages.allSatisfy { $0.timestamp != nil && $0.topicPartition == KafkaTopicPartition(topic: topic, partition: 0) })
    }
}
