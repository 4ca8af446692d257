import AsyncHTTPClient
import Foundation
import JuneTransform
import Logging
import NIOCore
import NIOHTTP1

/// Sends `JuneRequest`s to June's tracking API with AsyncHTTPClient: HTTP/1.1 keep-alive pool,
/// HTTPS with the system trust store, a deadline per request. One attempt per `send`; retrying is the caller's job.
///
/// Call `shutdown()` before releasing it.
public final class JuneHTTPClient: JuneSending {
    private let httpClient: HTTPClient
    private let logger: Logger
    private let timeout: TimeAmount
    /// Precomputed once: headers and the full URL of each endpoint.
    private let headers: HTTPHeaders
    private let identifyURL: String
    private let trackURL: String
    private let groupURL: String
    private let pageURL: String

    public init(configuration: JuneClientConfiguration, logger: Logger) throws(JuneClientError) {
        try configuration.validate()
        let base = try configuration.normalizedBaseURL()
        self.identifyURL = base + JuneRequest(type: .identify, body: [], orderingKey: nil).path
        self.trackURL = base + JuneRequest(type: .track, body: [], orderingKey: nil).path
        self.groupURL = base + JuneRequest(type: .group, body: [], orderingKey: nil).path
        self.pageURL = base + JuneRequest(type: .page, body: [], orderingKey: nil).path

        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Basic \(configuration.writeKey)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: configuration.userAgent)
        self.headers = headers

        self.timeout = TimeAmount(configuration.requestTimeout)
        self.logger = logger

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.httpVersion = .http1Only
        clientConfiguration.redirectConfiguration = .disallow
        clientConfiguration.decompression = .disabled
        clientConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnections
        )
        // Fail a refused connection at once: the caller's retry policy (backoff, outage detection) decides
        // when to try again, instead of AHC silently retrying until the connect timeout.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        // The per-request deadline bounds the whole exchange; a separate read timeout would only add a
        // second timer to schedule and cancel per request.
        clientConfiguration.timeout = .init(connect: min(self.timeout, .seconds(10)))
        // No span per request: the relay does not trace individual June requests (measured: building the
        // span attributes cost about 5% of the request path's CPU).
        clientConfiguration.tracing.tracer = nil
        self.httpClient = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: clientConfiguration,
            backgroundActivityLogger: logger
        )
    }

    /// POSTs `request.body` to `<baseURL><request.path>` once and classifies the result. Never throws.
    public func send(_ request: JuneRequest) async -> SendOutcome {
        var httpRequest = HTTPClientRequest(url: self.url(for: request.type))
        httpRequest.method = .POST
        httpRequest.headers = self.headers
        httpRequest.body = .bytes(ByteBuffer(bytes: request.body))

        let response: HTTPClientResponse
        do {
            response = try await self.httpClient.execute(httpRequest, timeout: self.timeout, logger: self.logger)
        } catch {
            let outcome = ResponseClassifier.classify(error: error)
            self.logger.debug(
                "June request failed without a response",
                metadata: [
                    JuneClientLoggingKeys.endpoint: "\(request.path)",
                    JuneClientLoggingKeys.error: "\(error)",
                ]
            )
            return outcome
        }

        let status = Int(response.status.code)
        let wantsBody = !(200..<300).contains(status)
        let bodyPrefix = await Self.readPrefixAndDrain(response.body, keeping: wantsBody ? ResponseClassifier.messageBodyLimit : 0)
        let outcome = ResponseClassifier.classify(
            status: status,
            retryAfter: response.headers.first(name: "retry-after"),
            bodyPrefix: bodyPrefix
        )
        self.logger.trace(
            "June request finished",
            metadata: [
                JuneClientLoggingKeys.endpoint: "\(request.path)",
                JuneClientLoggingKeys.statusCode: "\(status)",
            ]
        )
        return outcome
    }

    /// Shuts the connection pool down. In-flight requests fail.
    public func shutdown() async throws {
        try await self.httpClient.shutdown()
    }

    private func url(for type: JuneEventType) -> String {
        switch type {
        case .identify: self.identifyURL
        case .track: self.trackURL
        case .group: self.groupURL
        case .page: self.pageURL
        }
    }

    /// Keeps at most `limit` bytes and reads (discards) the rest, so the connection goes back to the pool.
    /// A failure while reading the body keeps what was read: the status already decided the outcome.
    private static func readPrefixAndDrain(_ body: HTTPClientResponse.Body, keeping limit: Int) async -> [UInt8] {
        var prefix: [UInt8] = []
        do {
            for try await var chunk in body where prefix.count < limit {
                let take = min(limit - prefix.count, chunk.readableBytes)
                if let bytes = chunk.readBytes(length: take) {
                    prefix.append(contentsOf: bytes)
                }
            }
        } catch {
            // The connection is discarded by AHC; the status line is what matters.
        }
        return prefix
    }
}
