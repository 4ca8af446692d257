import JuneTransform
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Sends `JuneRequest`s to June's tracking API over HTTP/1.1 keep-alive connections (HTTPS with the
/// system trust store), with a deadline per request. One attempt per `send`; retrying is the caller's job.
///
/// Built on SwiftNIO directly (`HTTP1ConnectionPool`): the request line and headers of each endpoint are
/// serialized once, so a request is one buffer (prefix, `Content-Length`, body) written with one syscall,
/// and the answer is read with NIO's HTTP/1 decoder. (AsyncHTTPClient, used before, wrote head and body as
/// two writes and scanned its pool per request; see README "Performance".)
///
/// Call `shutdown()` before releasing it.
public final class JuneHTTPClient: JuneSending {
    private let pool: HTTP1ConnectionPool
    private let logger: Logger
    private let timeout: TimeAmount
    /// Per endpoint, everything before the `Content-Length` digits: request line and fixed headers.
    private let prefixes: [JuneEventType: [UInt8]]

    public convenience init(configuration: JuneClientConfiguration, logger: Logger) throws(JuneClientError) {
        try self.init(configuration: configuration, tlsConfiguration: nil, logger: logger)
    }

    /// `tlsConfiguration` replaces the default (system trust store, certificate and host name checked);
    /// tests use it to trust a throwaway certificate authority.
    package init(configuration: JuneClientConfiguration, tlsConfiguration: TLSConfiguration?, logger: Logger) throws(JuneClientError) {
        try configuration.validate()
        let endpoint = try HTTP1Endpoint(normalizedBaseURL: try configuration.normalizedBaseURL())
        self.timeout = TimeAmount(configuration.requestTimeout)
        self.logger = logger
        self.prefixes = Dictionary(uniqueKeysWithValues: JuneEventType.allCases.map { type in
            let target = endpoint.pathPrefix + JuneRequest(type: type, body: [], orderingKey: nil).path
            return (type, Self.requestPrefix(target: target, endpoint: endpoint, configuration: configuration))
        })
        do {
            self.pool = try HTTP1ConnectionPool(
                configuration: .init(
                    endpoint: endpoint,
                    maxConnections: configuration.maxConnections,
                    connectTimeout: min(self.timeout, .seconds(10)),
                    idleTimeout: .seconds(50),
                    bodyPrefixLimit: ResponseClassifier.messageBodyLimit
                ),
                tlsConfiguration: tlsConfiguration,
                group: MultiThreadedEventLoopGroup.singleton
            )
        } catch {
            throw .invalidSetting("TLS", "\(error)")
        }
    }

    /// POSTs `request.body` to `<baseURL><request.path>` once and classifies the result. Never throws.
    public func send(_ request: JuneRequest) async -> SendOutcome {
        let prefix = self.prefixes[request.type]!  // built for every case above
        let response: HTTP1Response
        do {
            response = try await self.pool.execute(
                { allocator in Self.serialize(prefix: prefix, body: request.body, allocator: allocator) },
                deadline: .now() + self.timeout
            )
        } catch {
            self.logger.debug(
                "June request failed without a response",
                metadata: [
                    JuneClientLoggingKeys.endpoint: "\(request.path)",
                    JuneClientLoggingKeys.error: "\(error)",
                ]
            )
            return ResponseClassifier.classify(error: error)
        }
        self.logger.trace(
            "June request finished",
            metadata: [
                JuneClientLoggingKeys.endpoint: "\(request.path)",
                JuneClientLoggingKeys.statusCode: "\(response.status)",
            ]
        )
        return ResponseClassifier.classify(status: response.status, retryAfter: response.retryAfter, bodyPrefix: response.bodyPrefix)
    }

    /// Closes every connection. In-flight requests fail.
    public func shutdown() async throws {
        await self.pool.shutdown()
    }

    // MARK: - Serialization

    /// `POST <target> HTTP/1.1` and the fixed headers, ending with `Content-Length: ` (digits follow).
    static func requestPrefix(target: String, endpoint: HTTP1Endpoint, configuration: JuneClientConfiguration) -> [UInt8] {
        var text = "POST \(target) HTTP/1.1\r\n"
        text += "Host: \(endpoint.hostHeader)\r\n"
        text += "Authorization: Basic \(configuration.writeKey)\r\n"
        text += "Content-Type: application/json\r\n"
        text += "User-Agent: \(configuration.userAgent)\r\n"
        text += "Content-Length: "
        return Array(text.utf8)
    }

    /// One buffer: prefix, the body length in decimal, the blank line, the body.
    static func serialize(prefix: [UInt8], body: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefix.count + 24 + body.count)
        buffer.writeBytes(prefix)
        buffer.writeString(String(body.count))  // a small string: no heap allocation
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}
