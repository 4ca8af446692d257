import Foundation
import JuneClient
import Testing

@Suite struct JuneClientConfigurationTests {
    @Test(arguments: ["https://api.june.so", "http://127.0.0.1:8080", "https://example.com/prefix/", "HTTPS://host"])
    func acceptsHTTPURLs(url: String) throws {
        try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
    }

    @Test(arguments: [
        "", "api.june.so", "ftp://api.june.so", "https://", "http:///path", "https://h/?q=1", "not a url",
    ])
    func rejectsBadBaseURL(url: String) {
        #expect {
            try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
        } throws: { error in
            (error as? JuneClientError)?.isInvalidBaseURL == true
        }
    }

    @Test func badBaseURLFailsClientCreation() {
        #expect(throws: JuneClientError.self) {
            _ = try JuneHTTPClient(
                configuration: .init(baseURL: "localhost:8080", writeKey: "key"), logger: quietLogger)
        }
    }

    @Test(arguments: ["", "a\nb"])
    func rejectsBadWriteKey(key: String) {
        #expect {
            try JuneClientConfiguration(writeKey: key).validate()
        } throws: { error in
            (error as? JuneClientError)?.isInvalidWriteKey == true
        }
    }

    @Test func rejectsNonPositiveSettings() {
        #expect(throws: JuneClientError.self) {
            try JuneClientConfiguration(writeKey: "k", requestTimeout: .zero).validate()
        }
        #expect(throws: JuneClientError.self) {
            try JuneClientConfiguration(writeKey: "k", maxConnections: 0).validate()
        }
    }

    @Test func descriptionNeverShowsTheWriteKey() {
        let configuration = JuneClientConfiguration(writeKey: "super-secret-key")
        #expect(!"\(configuration)".contains("super-secret-key"))
        #expect(!String(reflecting: configuration).contains("super-secret-key"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("super-secret-key"))
    }

    @Test func defaultsMatchTheSpec() {
        let configuration = JuneClientConfiguration(writeKey: "k")
        #expect(configuration.baseURL == "https://api.june.so")
        #expect(configuration.requestTimeout == .seconds(10))
        #expect(configuration.maxConnections == 256)
        #expect(configuration.userAgent.hasPrefix("june-relay/"))
    }

    // MARK: - Plain HTTP

    @Test(arguments: [
        "http://localhost:8080", "http://LOCALHOST", "http://127.0.0.1", "http://127.10.20.30:9000/x",
        "http://[::1]:8080",
    ])
    func plainHTTPToLoopbackIsAccepted(url: String) throws {
        try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
    }

    @Test(arguments: [
        "http://api.june.so", "http://june-stub:8080", "http://10.0.0.7", "http://128.0.0.1",
        "http://localhost.example.com",
    ])
    func plainHTTPToOtherHostsIsRefusedNamingTheFlag(url: String) throws {
        do {
            try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.isInvalidBaseURL)
            #expect(error.reason.contains("--allow-insecure-http"), "\(error)")
            #expect(error.reason.contains("clear text"), "\(error)")
        }
        try JuneClientConfiguration(baseURL: url, writeKey: "key", allowInsecureHTTP: true).validate()
    }

    @Test func insecureHTTPIsOffByDefault() {
        #expect(JuneClientConfiguration(writeKey: "k").allowInsecureHTTP == false)
        #expect(throws: JuneClientError.self) {
            _ = try JuneHTTPClient(
                configuration: .init(baseURL: "http://june.example.com", writeKey: "key"), logger: quietLogger)
        }
    }

    // MARK: - CA file

    @Test func missingCAFileIsAClearStartUpError() {
        let path = "/nonexistent/june-ca-\(UUID().uuidString).pem"
        do {
            try JuneClientConfiguration(writeKey: "k", caFile: path).validate()
            Issue.record("accepted")
        } catch {
            #expect(error.isInvalidCAFile)
            #expect(error.reason.contains("--june-ca-file") && error.reason.contains(path), "\(error)")
        }
        #expect(throws: JuneClientError.self) {
            _ = try JuneHTTPClient(configuration: .init(writeKey: "k", caFile: path), logger: quietLogger)
        }
    }

    @Test(arguments: ["", "not a certificate\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
    func caFileWithoutACertificateIsRefused(contents: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("june-ca-\(UUID().uuidString).pem")
        try contents.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect {
            try JuneClientConfiguration(writeKey: "k", caFile: file.path).validate()
        } throws: { error in
            (error as? JuneClientError)?.isInvalidCAFile == true
        }
    }

    @Test func aRealCABundleIsAccepted() throws {
        let authority = try TestCertificateAuthority.make()
        defer { authority.remove() }
        try JuneClientConfiguration(writeKey: "k", caFile: authority.caFile).validate()
    }

    // MARK: - Description

    @Test func descriptionShowsTheProxyHostButNeverItsCredentials() {
        let configuration = JuneClientConfiguration(
            writeKey: "k",
            proxy: JuneProxy(host: "proxy.internal", port: 3128, username: "alice", password: "s3cr3t-pw")
        )
        #expect("\(configuration)".contains("proxy.internal:3128"))
        var dumped = ""
        dump(configuration, to: &dumped)
        dump(configuration.proxy, to: &dumped)
        for text in ["\(configuration)", String(reflecting: configuration), dumped, "\(configuration.proxy!)"] {
            #expect(!text.contains("s3cr3t-pw"))
        }
    }
}
