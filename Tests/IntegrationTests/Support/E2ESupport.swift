import Foundation
import Kafka
import Testing

#if canImport(Glibc)
    import Glibc
#endif

// Small helpers for the failure-path scenarios (NoDeadEnds, StuckUser, Shutdown, FlagValidation).

extension Harness {
    /// A file in the test's log directory holding `text` (a write-key file).
    func writeFile(_ name: String, _ text: String) throws -> URL {
        let url = logDirectory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}

/// The relay's `GET /status` document (see `Pipeline.statusJSON()`).
struct RelayStatus: Decodable, Sendable, CustomStringConvertible {
    var mode: String
    var ready: Bool
    var assignedPartitions: Int
    var inFlight: Int
    var buffered: Int
    var bufferedBytes: Int
    var uncommitted: Int64
    var refusedStatus: Int?
    var refusedReason: String?
    var unavailableForSeconds: Double?
    var concurrencyLimit: Int?

    var description: String {
        "mode=\(mode) ready=\(ready) assigned=\(assignedPartitions) inFlight=\(inFlight) buffered=\(buffered) "
            + "uncommitted=\(uncommitted) refusedStatus=\(refusedStatus.map(String.init) ?? "-") refusedReason=\(refusedReason ?? "-") limit=\(concurrencyLimit.map(String.init) ?? "-")"
    }
}

extension MetricsClient {
    func status() async throws -> RelayStatus {
        let response = try await HTTP.get(baseURL + "/status")
        guard response.status == 200 else { throw HTTP.Failure(description: "GET /status answered \(response.status)") }
        return try JSONDecoder().decode(RelayStatus.self, from: response.body)
    }

    /// Every series of `name` with its labels, e.g. `["topic": "t", "partition": "0"]: 3`.
    func series(_ name: String) async throws -> [[String: String]: Double] {
        let response = try await HTTP.get(baseURL + "/metrics")
        guard response.status == 200 else { throw HTTP.Failure(description: "GET /metrics answered \(response.status)") }
        return Self.series(of: name, in: response.text)
    }

    /// The series of `name` whose labels include `labels`, summed; `nil` when there is none.
    func value(_ name: String, labels: [String: String]) async throws -> Double? {
        let matching = try await series(name).filter { series, _ in labels.allSatisfy { series[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.values.reduce(0, +)
    }

    static func series(of name: String, in text: String) -> [[String: String]: Double] {
        var result: [[String: String]: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let rest = line.dropFirst(name.count)
            guard let valueText = line.split(separator: " ").last, let value = Double(valueText) else { continue }
            var labels: [String: String] = [:]
            if rest.first == "{", let close = rest.firstIndex(of: "}") {
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
            } else if rest.first != " " {
                continue  // another metric whose name starts with `name`
            }
            result[labels, default: 0] += value
        }
        return result
    }
}

extension KafkaTestClient {
    /// Produces the records one after the other (so their order holds in every partition) with extra
    /// librdkafka producer properties, e.g. `message.max.bytes` for records over 1 MB.
    func produceInOrder(_ records: [KafkaProducerRecord], properties: [String: String]) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrapServers)
        configuration.linger = .milliseconds(1)
        configuration.additionalProperties = properties
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        do {
            for record in records { _ = try await producer.send(record) }
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
    }

    /// The partition each record key was written to (reads the whole topic).
    func partitionsByKey(topic: String) async throws -> [String: Set<Int32>] {
        let count = try await recordCount(of: topic)
        var result: [String: Set<Int32>] = [:]
        for message in try await readAll(topic: topic, count: Int(count)) {
            result[message.keyText ?? "", default: []].insert(message.partition)
        }
        return result
    }
}

/// Peak resident set size (`VmHWM` of /proc/<pid>/status) in bytes, or nil when unreadable.
func peakResidentBytes(pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
    }
    return nil
}

extension RelayChecks {
    /// Waits until every user in `expected` has each of its seqs 0..<n accepted at the stub, and checks
    /// there was no order violation. Counted per user rather than with `uniqueAccepted`, because the
    /// relay's outage and refusal probes (`{}` on /api/track) are accepted by the stub without a user and
    /// would make a total count reach its target one event early.
    static func waitForEveryUser(
        _ h: Harness, stub: StubClient, expected: [String: Int], timeout: Duration
    ) async throws {
        let total = expected.values.reduce(0, +)
        let deadline = ContinuousClock.now + timeout
        _ = try await waitForUniqueAccepted(h, stub: stub, count: total, timeout: timeout)
        var missing: [String: Int] = [:]
        repeat {
            missing = [:]
            for (user, count) in expected {
                let seen = Set(try await stub.acceptedSeqs(user: user))
                let absent = (0..<count).filter { !seen.contains($0) }.count
                if absent > 0 { missing[user] = absent }
            }
            if missing.isEmpty { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        try h.require(missing.isEmpty, "events missing at the stub (user: count): \(missing.sorted { $0.key < $1.key }.prefix(10))")
        let stats = try await stub.stats()
        h.check(stats.orderViolations == 0, "order violations: \(stats)")
    }
}
