import Foundation
import JuneTransform
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Sends `JuneRequest`s to June's tracking API over HTTP/1.1 keep-alive connections (HTTPS with the
/// system trust store plus `caFile`, TLS 1.2 or newer, optionally through an HTTP proxy), with a deadline
/// per request. One attempt per `send`; retrying is the caller's job.
///
/// Built on SwiftNIO directly (`HTTP1ConnectionPool`): the request line and headers of each endpoint are
/// serialized once (again only when the write key changes), so a request is one buffer (prefix,
/// `Content-Length`, body) written with one syscall, and the answer is read with NIO's HTTP/1 decoder.
///
/// Call `shutdown()` before releasing it.
public final class JuneHTTPClient: JuneSending {
    private let pool: HTTP1ConnectionPool
    private let logger: Logger
    private let timeout: TimeAmount
    private let endpoint: HTTP1Endpoint
    private let userAgent: String
    /// Request prefixes for the current write key; replaced whole by `updateWriteKey`.
    private let prefixes: Mutex<RequestPrefixes>

    public convenience init(configuration: JuneClientConfiguration, logger: Logger) throws(JuneClientError) {
        try self.init(configuration: configuration, tlsConfiguration: nil, logger: logger)
    }

    /// `tlsConfiguration` replaces the default (system trust store, certificate and host name checked);
    /// tests use it to trust a throwaway certificate authority. TLS 1.2 stays the minimum and `caFile` is
    /// added either way.
    package init(configuration: JuneClientConfiguration, tlsConfiguration: TLSConfiguration?, logger: Logger)
        throws(JuneClientError)
    {
        try configuration.validate()
        let endpoint = try HTTP1Endpoint(normalizedBaseURL: try configuration.normalizedBaseURL())
        self.endpoint = endpoint
        self.userAgent = configuration.userAgent
        self.timeout = TimeAmount(configuration.requestTimeout)
        self.logger = logger
        self.prefixes = Mutex(
            RequestPrefixes(endpoint: endpoint, writeKey: configuration.writeKey, userAgent: configuration.userAgent))
        var tls: TLSConfiguration? = nil
        if endpoint.usesTLS {
            tls = try configuration.tlsConfiguration(base: tlsConfiguration)
        }
        do {
            self.pool = try HTTP1ConnectionPool(
                configuration: .init(
                    endpoint: endpoint,
                    proxy: configuration.proxy,
                    maxConnections: configuration.maxConnections,
                    connectTimeout: min(self.timeout, .seconds(10)),
                    idleTimeout: .seconds(50),
                    bodyPrefixLimit: ResponseClassifier.messageBodyLimit
                ),
                tlsConfiguration: tls,
                group: MultiThreadedEventLoopGroup.singleton
            )
        } catch {
            throw .invalidSetting("TLS", "\(error)")
        }
        if let proxy = configuration.proxy {
            // Host and port only: the proxy's credentials are never logged.
            logger.info("June requests go through an HTTP proxy (CONNECT tunnel)", metadata: ["june.proxy": "\(proxy)"])
        }
    }

    /// POSTs `request.body` to `<baseURL><request.path>` once and classifies the result. Never throws.
    public func send(_ request: JuneRequest) async -> SendOutcome {
        let prefix = self.prefixes.withLock { $0.perType[request.type]! }  // built for every case
        return await self.execute(path: request.path, deadline: .now() + self.timeout) { allocator in
            Self.serialize(prefix: prefix, body: request.body, allocator: allocator)
        }
    }

    /// Like `send(_:)` with an explicit deadline (tests: requests with different deadlines in one pool).
    package func send(_ request: JuneRequest, deadline: NIODeadline) async -> SendOutcome {
        let prefix = self.prefixes.withLock { $0.perType[request.type]! }
        return await self.execute(path: request.path, deadline: deadline) { allocator in
            Self.serialize(prefix: prefix, body: request.body, allocator: allocator)
        }
    }

    /// POSTs `batch` to `<baseURL>/sdk/batch` once as `{"batch":[…],"sentAt":"…"}`, authenticated as
    /// June's SDKs do (`Basic` + base64 of `"<write key>:"`), and classifies the result. An empty batch
    /// is sent too (`{"batch":[],…}`): the relay probes June with it while June is unavailable. Never throws.
    public func send(batch: [JuneBatchItem]) async -> SendOutcome {
        let prefix = self.prefixes.withLock { $0.batch }
        return await self.execute(path: JuneAPI.batchPath, deadline: .now() + self.timeout) { allocator in
            Self.serialize(prefix: prefix, batch: batch, allocator: allocator)
        }
    }

    /// Like `send(batch:)` with the whole exchange ending by `deadline` (at most one request timeout away).
    public func send(batch: [JuneBatchItem], deadline: ContinuousClock.Instant) async -> SendOutcome {
        let remaining = min(TimeAmount(deadline - .now), self.timeout)
        let prefix = self.prefixes.withLock { $0.batch }
        return await self.execute(path: JuneAPI.batchPath, deadline: .now() + remaining) { allocator in
            Self.serialize(prefix: prefix, batch: batch, allocator: allocator)
        }
    }

    /// Replaces the write key for every later request (e.g. after the key file was re-read). Requests
    /// already written keep the old key. Thread-safe; validated like the configured key.
    public func updateWriteKey(_ key: String) throws(JuneClientError) {
        try JuneClientConfiguration.validate(writeKey: key)
        let prefixes = RequestPrefixes(endpoint: self.endpoint, writeKey: key, userAgent: self.userAgent)
        self.prefixes.withLock { $0 = prefixes }
    }

    /// Closes every connection. In-flight requests fail.
    public func shutdown() async throws {
        await self.pool.shutdown()
    }

    private func execute(path: String, deadline: NIODeadline, _ makeRequest: (ByteBufferAllocator) -> ByteBuffer) async
        -> SendOutcome
    {
        let response: HTTP1Response
        do {
            response = try await self.pool.execute(makeRequest, deadline: deadline)
        } catch {
            self.logger.debug(
                "June request failed without a response",
                metadata: [
                    JuneClientLoggingKeys.endpoint: "\(path)",
                    JuneClientLoggingKeys.error: "\(error)",
                ]
            )
            return ResponseClassifier.classify(error: error)
        }
        self.logger.trace(
            "June request finished",
            metadata: [
                JuneClientLoggingKeys.endpoint: "\(path)",
                JuneClientLoggingKeys.statusCode: "\(response.status)",
            ]
        )
        return ResponseClassifier.classify(
            status: response.status, retryAfter: response.retryAfter, bodyPrefix: response.bodyPrefix)
    }

    // MARK: - Serialization

    /// One buffer: prefix, the body length in decimal, the blank line, the body.
    static func serialize(prefix: [UInt8], body: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefix.count + 24 + body.count)
        buffer.writeBytes(prefix)
        buffer.writeString(String(body.count))  // a small string: no heap allocation
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(body)
        return buffer
    }

    /// One buffer: prefix, the batch body's length, the blank line, the body written item by item
    /// straight into the buffer (no intermediate copy of any event body). `sentAt` is the time of writing.
    static func serialize(prefix: [UInt8], batch: [JuneBatchItem], allocator: ByteBufferAllocator) -> ByteBuffer {
        let bodySize = JuneBatchBody.size(of: batch)
        var buffer = allocator.buffer(capacity: prefix.count + 24 + bodySize)
        buffer.writeBytes(prefix)
        buffer.writeString(String(bodySize))
        buffer.writeStaticString("\r\n\r\n")
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        JuneBatchBody.write(batch, sentAt: now, to: &buffer)
        return buffer
    }
}

/// The request line and fixed headers of every endpoint for one write key, ending with
/// `Content-Length: ` (the digits follow per request).
struct RequestPrefixes: Sendable {
    /// Per-event endpoints `/api/<type>`: `Authorization: Basic <raw key>`, as RudderStack sends it.
    var perType: [JuneEventType: [UInt8]]
    /// `/sdk/batch`: `Authorization: Basic <base64 of "<key>:">` (RFC 7617, the key as user name and an
    /// empty password), as June's own SDKs send it.
    var batch: [UInt8]

    init(endpoint: HTTP1Endpoint, writeKey: String, userAgent: String) {
        self.perType = Dictionary(
            uniqueKeysWithValues: JuneEventType.allCases.map { type in
                let target = endpoint.pathPrefix + JuneAPI.eventPath(type)
                let authorization = JuneAPI.eventAuthorization(writeKey: writeKey)
                return (
                    type, Self.prefix(target: target, endpoint: endpoint, authorization: authorization, userAgent: userAgent)
                )
            })
        self.batch = Self.prefix(
            target: endpoint.pathPrefix + JuneAPI.batchPath,
            endpoint: endpoint,
            authorization: JuneAPI.batchAuthorization(writeKey: writeKey),
            userAgent: userAgent
        )
    }

    /// `POST <target> HTTP/1.1` and the fixed headers, ending with `Content-Length: ` (digits follow).
    static func prefix(target: String, endpoint: HTTP1Endpoint, authorization: String, userAgent: String) -> [UInt8] {
        var text = "POST \(target) HTTP/1.1\r\n"
        text += "Host: \(endpoint.hostHeader)\r\n"
        text += "Authorization: \(authorization)\r\n"
        text += "Content-Type: application/json\r\n"
        text += "User-Agent: \(userAgent)\r\n"
        text += "Content-Length: "
        return Array(text.utf8)
    }
}
