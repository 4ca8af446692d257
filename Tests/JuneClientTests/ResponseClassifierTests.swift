import Foundation
import JuneClient
import Testing

@Suite struct ResponseClassifierTests {
    @Test(arguments: [200, 201, 204])
    func successStatusesAreDelivered(status: Int) {
        #expect(
            ResponseClassifier.classify(status: status, retryAfter: nil, bodyPrefix: []) == .delivered(status: status))
    }

    @Test(arguments: [408, 429, 500, 502, 503, 504])
    func transientStatusesAreRetryable(status: Int) {
        let outcome = ResponseClassifier.classify(status: status, retryAfter: nil, bodyPrefix: Array("busy".utf8))
        #expect(outcome == .retryable(status: status, retryAfter: nil, message: "HTTP \(status): busy"))
    }

    @Test(arguments: [400, 402, 409, 411, 413, 415, 422, 451, 499])
    func otherClientErrorsAreRejected(status: Int) {
        let outcome = ResponseClassifier.classify(status: status, retryAfter: "5", bodyPrefix: Array("nope".utf8))
        #expect(outcome == .rejected(status: status, message: "HTTP \(status): nope"))
        #expect(!outcome.isRefused)
    }

    @Test(arguments: [401, 403, 404, 405, 407, 410])
    func refusalsOfTheRelayAreRefusedNotRejected(status: Int) {
        let outcome = ResponseClassifier.classify(
            status: status, retryAfter: nil, bodyPrefix: Array("invalid write key".utf8))
        #expect(outcome == .refused(status: status, message: "HTTP \(status): invalid write key"))
        #expect(outcome.isRefused)
        #expect(!outcome.isRetryable && !outcome.isDelivered)
        #expect(outcome.status == status)
    }

    @Test(arguments: [300, 301, 302, 303, 304, 307, 308, 399])
    func redirectsAreRefused(status: Int) {
        #expect(
            ResponseClassifier.classify(status: status, retryAfter: nil, bodyPrefix: [])
                == .refused(status: status, message: "HTTP \(status)"))
    }

    @Test func messageIsOneLineWithControlCharactersEscaped() {
        let body = Array("line one\nline two\r\n\tend\u{01}\u{7F}".utf8)
        #expect(
            ResponseClassifier.message(status: 400, bodyPrefix: body)
                == #"HTTP 400: line one\nline two\r\n\tend\u0001\u007f"#)
    }

    @Test func messageDropsTrailingWhitespace() {
        #expect(
            ResponseClassifier.message(status: 401, bodyPrefix: Array("bad key \r\n\n".utf8)) == "HTTP 401: bad key")
        #expect(ResponseClassifier.message(status: 503, bodyPrefix: Array(" \n\t\r\n".utf8)) == "HTTP 503")
        #expect(ResponseClassifier.message(status: 503, bodyPrefix: Array("{\"e\":1}\n".utf8)) == #"HTTP 503: {"e":1}"#)
    }

    @Test func messageHasNoLineBreakWhateverTheBody() {
        let body = (0..<200).map { UInt8($0 % 40) }  // mostly control characters
        let message = ResponseClassifier.message(status: 500, bodyPrefix: body)
        #expect(!message.contains { $0.isNewline })
        #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
    }

    @Test func messageKeepsOnlyTheFirst200Bytes() {
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 500)
        guard
            case .rejected(_, let message) = ResponseClassifier.classify(status: 400, retryAfter: nil, bodyPrefix: body)
        else {
            Issue.record("expected rejected")
            return
        }
        #expect(message == "HTTP 400: " + String(repeating: "x", count: 200))
    }

    @Test func retryAfterIsAttachedToRetryableOutcomes() {
        let outcome = ResponseClassifier.classify(status: 429, retryAfter: "7", bodyPrefix: [])
        #expect(outcome == .retryable(status: 429, retryAfter: .seconds(7), message: "HTTP 429"))
    }

    @Test func transportErrorsAreRetryableWithoutStatus() {
        struct Refused: Error {}
        guard case .retryable(nil, nil, let message) = ResponseClassifier.classify(error: Refused()) else {
            Issue.record("expected retryable without status")
            return
        }
        #expect(message.hasPrefix("connection error"))
    }

    // MARK: - Retry-After

    private let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(arguments: [("0", Duration.zero), ("1", .seconds(1)), ("120", .seconds(120)), (" 30 ", .seconds(30))])
    func parsesDelaySeconds(value: String, expected: Duration) {
        #expect(ResponseClassifier.parseRetryAfter(value, now: self.now) == expected)
    }

    @Test func parsesIMFFixdate() {
        #expect(ResponseClassifier.parseRetryAfter("Sun, 06 Nov 1994 08:50:07 GMT", now: self.now) == .seconds(30))
    }

    @Test func parsesObsoleteDateForms() {
        #expect(ResponseClassifier.parseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now: self.now) == .seconds(60))
        #expect(ResponseClassifier.parseRetryAfter("Sun Nov  6 08:49:47 1994", now: self.now) == .seconds(10))
    }

    @Test func pastDateMeansNoWait() {
        #expect(ResponseClassifier.parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: self.now) == .zero)
    }

    @Test(arguments: ["", "soon", "-5", "1.5", "Sun, 06 Nov"])
    func garbageIsIgnored(value: String) {
        #expect(ResponseClassifier.parseRetryAfter(value, now: self.now) == nil)
    }

    @Test func hugeValuesAreClamped() {
        #expect(
            ResponseClassifier.parseRetryAfter("99999999999999999999", now: self.now)
                == ResponseClassifier.maxRetryAfter)
    }
}
