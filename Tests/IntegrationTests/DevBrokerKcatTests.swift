import Foundation
import Kafka
import Testing

/// The dev broker (mock cluster) serves clients in OTHER processes: kcat produces 100 records and a
/// kcat consumer group reads the same 100 back. Skipped when kcat is not installed.
@Suite struct DevBrokerKcatTests {
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
