import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Minimal HTTP for talking to the stub's control endpoints and the relay's metrics server.
package enum HTTP {
    package struct Response: Sendable {
        package var status: Int
        package var body: Data
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
        package init(description: String) { self.description = description }
    }

    package static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        configuration.timeoutIntervalForResource = 10
        return URLSession(configuration: configuration)
    }()

    package static func request(_ method: String, _ url: String) async throws -> Response {
        guard let target = URL(string: url) else { throw Failure(description: "bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: Failure(description: "\(method) \(url): \(error)"))
                } else if let http = response as? HTTPURLResponse {
                    continuation.resume(returning: Response(status: http.statusCode, body: data ?? Data()))
                } else {
                    continuation.resume(throwing: Failure(description: "\(method) \(url): no HTTP response"))
                }
            }
            task.resume()
        }
    }

    package static func get(_ url: String) async throws -> Response { try await request("GET", url) }
    package static func post(_ url: String) async throws -> Response { try await request("POST", url) }
}

/// The June stub's `GET /stats` document (see `Sources/JuneStub/JuneStubStats.swift`).
package struct StubStats: Decodable, Sendable, CustomStringConvertible {
    package var requests: Int
    package var accepted: Int
    package var uniqueAccepted: Int
    package var duplicates: Int
    package var orderViolations: Int
    package var users: Int
    package var byType: [String: Int]
    package var status: [String: Int]
    package var authorizationSeen: [String]
    // Batch delivery counters (`/sdk/batch`); optional so a stub that does not serve them still decodes,
    // and a check such as `stats.batches == 0` fails rather than passes when they are missing.
    package var batches: Int?
    package var batchItems: Int?
    package var batchesRejected: Int?
    package var duplicateMessageIds: Int?
    package var concurrentUserViolations: Int?
    package var probes: Int?
    // Capacity counters (`--capacity`, `--capacity-429`).
    package var served: Int?
    package var peakConcurrent: Int?
    package var capacityRejections: Int?

    package var description: String {
        var text =
            "requests=\(requests) accepted=\(accepted) uniqueAccepted=\(uniqueAccepted) duplicates=\(duplicates) "
            + "orderViolations=\(orderViolations) users=\(users) status=\(status.sorted { $0.key < $1.key })"
        if let batches {
            text += " byType=\(byType.sorted { $0.key < $1.key }) batches=\(batches) batchItems=\(batchItems ?? -1)"
            text += " batchesRejected=\(batchesRejected ?? -1) duplicateMessageIds=\(duplicateMessageIds ?? -1)"
            text += " concurrentUserViolations=\(concurrentUserViolations ?? -1) probes=\(probes ?? -1)"
        }
        return text
    }
}

/// Talks to one `june-stub` process.
package struct StubClient: Sendable {
    package let baseURL: String

    package init(baseURL: String) { self.baseURL = baseURL }

    package func stats() async throws -> StubStats {
        let response = try await HTTP.get(baseURL + "/stats")
        guard response.status == 200 else { throw HTTP.Failure(description: "GET /stats answered \(response.status)") }
        return try JSONDecoder().decode(StubStats.self, from: response.body)
    }

    /// The seqs the stub accepted for `user`, in arrival order (`GET /events?user=`); empty when it
    /// accepted none.
    package func acceptedSeqs(user: String) async throws -> [Int] {
        struct Events: Decodable { var seqs: [Int] }
        return try await perUser("/events", user: user, as: Events.self)?.seqs ?? []
    }

    /// `GET <path>?user=<user>` decoded as `T`; nil when the stub answers 404 (it has nothing of `user`).
    package func perUser<T: Decodable>(_ path: String, user: String, as type: T.Type) async throws -> T? {
        let query = user.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? user
        let response = try await HTTP.get(baseURL + path + "?user=" + query)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw HTTP.Failure(description: "GET \(path) answered \(response.status)") }
        return try JSONDecoder().decode(T.self, from: response.body)
    }

    /// `POST <path>?<query>` to one of the stub's `/control/` endpoints, which must answer 200.
    package func control(_ path: String, _ query: String) async throws {
        let response = try await HTTP.post(baseURL + path + "?" + query)
        guard response.status == 200 else {
            throw HTTP.Failure(description: "POST \(path) answered \(response.status): \(response.text)")
        }
    }

    package func startOutage(seconds: Int) async throws {
        try await control("/control/outage", "seconds=\(seconds)")
    }

    /// Makes the stub answer every June request with `status` (0: answer normally again); with
    /// `eventsOnly`, probes (`{}`, an empty batch) are answered as usual.
    package func answerEverything(status: Int, eventsOnly: Bool = false) async throws {
        try await control("/control/answer", "status=\(status)" + (eventsOnly ? "&events-only=1" : ""))
    }
}

/// Reads the relay's Prometheus text from `/metrics`.
package struct MetricsClient: Sendable {
    package let port: Int
    package var baseURL: String { "http://127.0.0.1:\(port)" }

    package init(port: Int) { self.port = port }

    /// The sum of every series of `name` (all label sets), or `nil` when the metric is not exposed yet.
    package func value(_ name: String) async throws -> Double? {
        let response = try await HTTP.get(baseURL + "/metrics")
        guard response.status == 200 else { throw HTTP.Failure(description: "GET /metrics answered \(response.status)") }
        return Self.sum(of: name, in: response.text)
    }

    package func readyzStatus() async throws -> Int {
        try await HTTP.get(baseURL + "/readyz").status
    }

    package static func sum(of name: String, in text: String) -> Double? {
        var total: Double?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard line.hasPrefix(name) else { continue }
            let rest = line.dropFirst(name.count)
            guard rest.first == "{" || rest.first == " " else { continue }
            guard let valueText = line.split(separator: " ").last, let value = Double(valueText) else { continue }
            total = (total ?? 0) + value
        }
        return total
    }
}
