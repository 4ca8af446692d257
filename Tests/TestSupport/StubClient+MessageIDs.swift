import Foundation

extension StubClient {
    /// The messageIds of every batch item of `user` the stub received, accepted or refused, in arrival
    /// order (`GET /message-ids?user=`); empty when it received none.
    package func receivedMessageIDs(user: String) async throws -> [String] {
        struct Received: Decodable { var messageIds: [String] }
        return try await perUser("/message-ids", user: user, as: Received.self)?.messageIds ?? []
    }

    /// Turns the stub's `stub:reject` hook off (or on again).
    package func setRejectHook(enabled: Bool) async throws {
        try await control("/control/reject-hook", "enabled=\(enabled)")
    }
}
