import Foundation

extension StubClient {
    /// The messageIds of every batch item of `user` the stub received, accepted or refused, in arrival
    /// order (`GET /message-ids?user=`); empty when it received none.
    package func receivedMessageIDs(user: String) async throws -> [String] {
        let query = user.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? user
        let response = try await HTTP.get(baseURL + "/message-ids?user=" + query)
        if response.status == 404 { return [] }
        guard response.status == 200 else { throw HTTP.Failure(description: "GET /message-ids answered \(response.status)") }
        struct Received: Decodable { var messageIds: [String] }
        return try JSONDecoder().decode(Received.self, from: response.body).messageIds
    }

    /// Turns the stub's `stub:reject` hook off (or on again).
    package func setRejectHook(enabled: Bool) async throws {
        let response = try await HTTP.post(baseURL + "/control/reject-hook?enabled=\(enabled)")
        guard response.status == 200 else {
            throw HTTP.Failure(description: "POST /control/reject-hook answered \(response.status): \(response.text)")
        }
    }
}
