import Kafka
import Logging
import Testing
import TestSupport

@Suite struct KafkaConfigurationTests {
    @Test func unknownPropertyIsRejectedByName() throws {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:1", groupID: "g")
        configuration.additionalProperties = ["no.such.property": "1"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: configuration, logger: KafkaTestClient.logger)
        }
        #expect(error?.code == KafkaError.Code.invalidArgument)
        #expect(error?.message.contains("no.such.property") == true, "\(String(describing: error))")
    }

    @Test func invalidValueIsRejectedByNameWithoutEchoingTheValue() throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.additionalProperties = ["linger.ms": "secret-ish"]
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(configuration: configuration, logger: KafkaTestClient.logger)
        }
        #expect(error?.message.contains("linger.ms") == true)

        let adminError = #expect(throws: KafkaError.self) {
            _ = try KafkaAdmin(bootstrapServers: "127.0.0.1:1", additionalProperties: ["bogus.key": "x"], logger: KafkaTestClient.logger)
        }
        #expect(adminError?.message.contains("bogus.key") == true)
    }

    @Test func consumerPropertiesAlwaysCommitExplicitly() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "relay")
        configuration.sessionTimeout = .seconds(6)
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.additionalProperties = ["enable.auto.commit": "true", "fetch.min.bytes": "10"]
        let properties = configuration.properties()
        #expect(properties["enable.auto.commit"] == "false")
        #expect(properties["enable.auto.offset.store"] == "false")
        #expect(properties["enable.partition.eof"] == "false")
        #expect(properties["session.timeout.ms"] == "6000")
        #expect(properties["heartbeat.interval.ms"] == "500")
        #expect(properties["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(properties["auto.offset.reset"] == "earliest")
        #expect(properties["fetch.min.bytes"] == "10")
    }

    @Test func lateCommitWindowFollowsTheSessionAndSocketTimeouts() {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: "b:9092", groupID: "relay")
        #expect(configuration.lateCommitWindow == .seconds(45 + 3 * 60), "librdkafka's defaults")
        configuration.sessionTimeout = .seconds(6)
        configuration.additionalProperties["socket.timeout.ms"] = "10000"
        #expect(configuration.lateCommitWindow == .seconds(6 + 3 * 10))
    }

    @Test func producerPropertiesDefaultToIdempotentAcksAll() {
        let properties = KafkaProducerConfiguration(bootstrapServers: "b:9092").properties()
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["acks"] == "all")
        #expect(properties["message.timeout.ms"] == "30000")
        #expect(properties["linger.ms"] == "5")
    }
}
