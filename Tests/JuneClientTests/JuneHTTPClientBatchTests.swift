import Foundation
import JuneTransform
import NIOCore
import Testing

@testable import JuneClient

/// `/sdk/batch` requests on the wire (exact bytes, June SDK authentication, sizes) and write-key reload.
@Suite(.timeLimit(.minutes(1)))
struct JuneHTTPClientBatchTests {
    static let ok = ScriptedHTTPServer.Reply.response(200, body: #"{"success":true}"#)

    func client(_ server: ScriptedHTTPServer, path: String = "", writeKey: String = "wk_wire") throws -> JuneHTTPClient {
        try JuneHTTPClient(
            configuration: .init(
                baseURL: "http://127.0.0.1:\(server.port)\(path)",
                writeKey: writeKey,
                requestTimeout: .seconds(5),
                userAgent: "june-relay/wire-test"
            ),
            logger: quietLogger
        )
    }

    static func headers(_ request: ScriptedHTTPServer.Request) -> [String: String] {
        var headers: [String: String] = [:]
        for line in request.head.components(separatedBy: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }

    @Test func aTwoItemBatchIsExactlyTheExpectedBytes() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, path: "/june/")
        let items = [
            JuneBatchItem(
                request: JuneRequest(
                    type: .track, body: Array(#"{"userId":"zoë","event":"Signed Up","properties":{"n":1}}"#.utf8),
                    orderingKey: "zoë"),
                messageID: "m-1"
            ),
            JuneBatchItem(
                request: JuneRequest(type: .identify, body: Array("{}".utf8), orderingKey: nil),
                messageID: "orders-3-\"17\"\n"),
        ]
        let outcome = await client.send(batch: items)
        try await client.shutdown(with: server)

        #expect(outcome == .delivered(status: 200))
        // Authorization: base64("wk_wire:"), the key as user name and an empty password.
        let seen = try server.checkedFirstRequest("POST /june/sdk/batch HTTP/1.1", authorization: "Basic d2tfd2lyZTo=")

        let body = String(decoding: seen.body, as: UTF8.self)
        let sentAt = try #require(body.firstMatch(of: /"sentAt":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"\}$/)?.1)
        let expected =
            #"{"batch":[{"type":"track","messageId":"m-1","userId":"zoë","event":"Signed Up","properties":{"n":1}},"#
            + #"{"type":"identify","messageId":"orders-3-\"17\"\n"}],"sentAt":""# + sentAt + #""}"#
        #expect(body == expected)
        #expect(seen.body == Array(expected.utf8))

        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try #require(formatter.date(from: String(sentAt)))
        #expect(abs(date.timeIntervalSinceNow) < 300, "sentAt is the current UTC time: \(sentAt)")

        #expect(
            JuneBatchBody.envelopeSize + items.map(\.encodedSize).reduce(0, +) + (items.count - 1) == seen.body.count)
        let json = try JSONSerialization.jsonObject(with: Data(seen.body)) as? [String: Any]
        let batch = try #require(json?["batch"] as? [[String: Any]])
        #expect(batch.map { $0["messageId"] as? String } == ["m-1", "orders-3-\"17\"\n"])
        #expect(batch.map { $0["type"] as? String } == ["track", "identify"])
    }

    @Test func encodedSizeIsTheItemsExactLength() {
        let cases: [(JuneBatchItem, String)] = [
            (
                JuneBatchItem(
                    request: JuneRequest(type: .page, body: Array(#"{"properties":{"a":"b"}}"#.utf8), orderingKey: nil),
                    messageID: "id"),
                #"{"type":"page","messageId":"id","properties":{"a":"b"}}"#
            ),
            (
                JuneBatchItem(
                    request: JuneRequest(type: .group, body: Array("{ }".utf8), orderingKey: nil),
                    messageID: "tab\there"),
                #"{"type":"group","messageId":"tab\there"}"#
            ),
            (
                JuneBatchItem(
                    request: JuneRequest(type: .track, body: Array(#"{"e":"ü"}"#.utf8), orderingKey: nil),
                    messageID: "ünï\\"),
                #"{"type":"track","messageId":"ünï\\","e":"ü"}"#
            ),
        ]
        for (item, expected) in cases {
            var buffer = ByteBuffer()
            item.write(to: &buffer)
            #expect(String(buffer: buffer) == expected)
            #expect(item.encodedSize == expected.utf8.count)
        }
    }

    @Test func envelopeSizeMatchesTheDocumentedShape() {
        #expect(JuneBatchBody.envelopeSize == #"{"batch":[],"sentAt":"2026-12-01T16:10:41.123Z"}"#.utf8.count)
    }

    @Test(arguments: [
        (Int64(1_764_605_441_123), "2025-12-01T16:10:41.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
    ])
    func sentAtIsUTCWithMilliseconds(milliseconds: Int64, expected: String) {
        var buffer = ByteBuffer()
        JuneBatchBody.writeTimestamp(milliseconds, to: &buffer)
        #expect(String(buffer: buffer) == expected)
    }

    @Test func anEmptyBatchIsSentAsAProbe() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server)
        #expect(await client.send(batch: []) == .delivered(status: 200))
        try await client.shutdown(with: server)
        #expect(server.requests.count == 1)
        let request = try #require(server.requests.first)
        #expect(request.head.hasPrefix("POST /sdk/batch HTTP/1.1"), "\(request.head)")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.hasPrefix(#"{"batch":[],"sentAt":""#), "\(body)")
    }

    @Test func batchAnswersAreClassifiedLikeSingleOnes() async throws {
        let server = try await ScriptedHTTPServer { _, index in
            [
                ScriptedHTTPServer.Reply.response(401, body: "bad key\n"), .response(400, body: "too big"),
                .response(503),
            ][index]
        }
        let client = try self.client(server)
        let item = JuneBatchItem(
            request: JuneRequest(type: .track, body: Array("{}".utf8), orderingKey: nil), messageID: "m")
        let outcomes = [
            await client.send(batch: [item]), await client.send(batch: [item]), await client.send(batch: [item]),
        ]
        try await client.shutdown(with: server)
        #expect(
            outcomes == [
                .refused(status: 401, message: "HTTP 401: bad key"),
                .rejected(status: 400, message: "HTTP 400: too big"),
                .retryable(status: 503, retryAfter: nil, message: "HTTP 503"),
            ])
    }

    // MARK: - Write key reload

    @Test func updatedWriteKeyIsUsedByLaterRequests() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, writeKey: "wk_old")
        let event = JuneRequest(type: .track, body: Array(#"{"userId":"u","event":"e"}"#.utf8), orderingKey: "u")
        let item = JuneBatchItem(request: event, messageID: "m")
        #expect(await client.send(event) == .delivered(status: 200))
        try client.updateWriteKey("wk_new")
        #expect(await client.send(event) == .delivered(status: 200))
        #expect(await client.send(batch: [item]) == .delivered(status: 200))
        #expect(throws: JuneClientError.self) { try client.updateWriteKey("") }
        #expect(throws: JuneClientError.self) { try client.updateWriteKey("bad\r\nX-Injected: 1") }
        #expect(await client.send(event) == .delivered(status: 200))
        try await client.shutdown(with: server)

        #expect(
            server.requests.map { Self.headers($0)["Authorization"] } == [
                "Basic wk_old",
                "Basic wk_new",
                "Basic d2tfbmV3Og==",  // base64("wk_new:")
                "Basic wk_new",  // the refused keys changed nothing
            ])
        #expect(server.connectionCount == 1, "a new key does not need new connections")
    }

    @Test func writeKeyUpdatesWhileSendingAreSafe() async throws {
        let server = try await ScriptedHTTPServer { _, _ in Self.ok }
        let client = try self.client(server, writeKey: "wk_0")
        let event = JuneRequest(type: .track, body: Array("{}".utf8), orderingKey: nil)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for version in 1...50 {
                    try? client.updateWriteKey("wk_\(version)")
                    await Task.yield()
                }
            }
            for _ in 0..<100 {
                group.addTask { _ = await client.send(event) }
            }
        }
        #expect(await client.send(event) == .delivered(status: 200))
        try await client.shutdown(with: server)
        let keys = server.requests.map { Self.headers($0)["Authorization"] ?? "" }
        #expect(keys.count == 101)
        #expect(
            keys.allSatisfy { $0.hasPrefix("Basic wk_") && Int($0.dropFirst("Basic wk_".count)) != nil }, "\(Set(keys))"
        )
        #expect(keys.last == "Basic wk_50")
    }
}
