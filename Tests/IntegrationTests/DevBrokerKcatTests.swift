import Foundation
import Kafka
import Testing

/// The dev broker (mock cluster) serves clients in OTHER processes: kcat produces 100 records and a
/// kcat consumer group reads the same 100 back. Skipped when kcat is not installed.
/// (`EndToEndTests.devBrokerServesKcatProducerAndGroupConsumer`, below, does the same with the
/// `dev-broker` process and keyed records, and fails when kcat is missing.)
@Suite struct DevBrokerKcatTests {
    /// The kcat executable, when installed.
    static let kcat = ["/usr/bin/kcat", "/usr/local/bin/kcat"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: kcat != nil), .timeLimit(.minutes(2)))
    func kcatProducesAndConsumesThroughAGroup() async throws {
        let logger = KafkaTestClient.logger
        let topic = "t1"
        let broker = try DevBroker.start(brokers: 3, topics: [topic], partitions: 4, logger: logger)
        let bootstrap = broker.bootstrapServers

        let lines = (0..<100).map { "record-\($0)" }
        let produced = try run(Self.kcat!, ["-b", bootstrap, "-P", "-t", topic], input: lines.joined(separator: "\n") + "\n")
        #expect(produced.status == 0, "\(produced.stderr)")

        let consumed = try run(Self.kcat!, ["-b", bootstrap, "-G", "kcat-group", "-o", "beginning", "-e", "-q", "-f", "%s\\n", topic])
        #expect(consumed.status == 0, "\(consumed.stderr)")
        let received = consumed.stdout.split(separator: "\n").map(String.init)
        #expect(received.sorted() == lines.sorted())

        // The group committed its offsets (kcat -G auto-commits): read them back from this process.
        let admin = try KafkaAdmin(bootstrapServers: bootstrap, logger: logger)
        let partitions = (0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
        let committed = try await admin.committedOffsets(group: "kcat-group", partitions: partitions, timeout: .seconds(5))
        #expect(committed.values.reduce(0, +) == 100)
        withExtendedLifetime(broker) {}
    }

    private func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

extension EndToEndTests {
    // MARK: 9. dev-broker with kcat

    @Test(.timeLimit(.minutes(2)))
    func devBrokerServesKcatProducerAndGroupConsumer() async throws {
        try await Harness.run("kcat") { h in
            let kcat = URL(fileURLWithPath: try #require(DevBrokerKcatTests.kcat, "kcat is not installed (apt-get install kcat)"))
            let topic = uniqueName("t1")
            let group = uniqueName("kcat-group")
            let brokers = try await h.startBroker(topics: [topic], partitions: 4)
            let kafka = KafkaTestClient(bootstrapServers: brokers)

            let lines = (0..<100).map { "key-\($0 % 10):value-\($0)" }
            let input = try h.writeFile("kcat-input.txt", lines.joined(separator: "\n") + "\n")
            let producer = try h.launch("kcat-produce", ["-b", brokers, "-P", "-t", topic, "-K", ":", "-l", input.path], executable: kcat)
            let produced = try await producer.waitForExit(timeout: .seconds(30))
            try h.require(produced == 0, "kcat -P exit \(produced.map(String.init) ?? "running"): \(producer.stderrText)")
            let end = try await kafka.endOffsets(of: topic)
            h.check(end.values.reduce(0, +) == 100, "end offsets \(end) after producing 100")
            h.check(end.values.filter { $0 > 0 }.count > 1, "keyed records all landed in one partition: \(end)")

            let consumer = try h.launch(
                "kcat-consume",
                ["-b", brokers, "-G", group, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%k:%s\\n", topic],
                executable: kcat
            )
            let consumed = try await consumer.waitForExit(timeout: .seconds(60))
            h.check(consumed == 0, "kcat -G exit \(consumed.map(String.init) ?? "still running after 60 s")")
            let received = consumer.stdoutText.split(separator: "\n").map(String.init)
            h.check(received.count == 100, "kcat consumed \(received.count) records, expected 100")
            h.check(Set(received) == Set(lines), "consumed records differ from the produced ones")
            // Each key's records in order (one key, one partition).
            for key in 0..<10 {
                let sent = lines.filter { $0.hasPrefix("key-\(key):") }
                let got = received.filter { $0.hasPrefix("key-\(key):") }
                h.check(got == sent, "key-\(key) consumed out of order: \(got)")
            }
            let committed = try await kafka.committedOffsets(group: group, topic: topic)
            for (partition, high) in end where high > 0 {
                h.check(
                    committed[partition] == high,
                    "\(partition): kcat's group committed \(committed[partition].map(String.init) ?? "none"), end \(high)")
            }
        }
    }
}
