import JuneClient
import Testing

@Suite struct JuneClientConfigurationTests {
    @Test(arguments: ["https://api.june.so", "http://127.0.0.1:8080", "https://example.com/prefix/", "HTTP://host"])
    func acceptsHTTPURLs(url: String) throws {
        try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
    }

    @Test(arguments: ["", "api.june.so", "ftp://api.june.so", "https://", "http:///path", "https://h/?q=1", "not a url"])
    func rejectsBadBaseURL(url: String) {
        #expect {
            try JuneClientConfiguration(baseURL: url, writeKey: "key").validate()
        } throws: { error in
            (error as? JuneClientError)?.isInvalidBaseURL == true
        }
    }

    @Test func badBaseURLFailsClientCreation() {
        #expect(throws: JuneClientError.self) {
            _ = try JuneHTTPClient(configuration: .init(baseURL: "localhost:8080", writeKey: "key"), logger: quietLogger)
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
}
