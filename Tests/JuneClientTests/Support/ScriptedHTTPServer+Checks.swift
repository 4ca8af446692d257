import Foundation
import Testing

extension ScriptedHTTPServer {
    /// The first request this server received (required), after checking that its request line is
    /// `requestLine` and its header lines are a wire test's (`expectedHeaderLines`) with `authorization`
    /// and `contentLength` (nil: the length of the body it carried).
    func checkedFirstRequest(
        _ requestLine: String,
        authorization: String,
        contentLength: Int? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Request {
        let seen = try #require(requests.first, sourceLocation: sourceLocation)
        let lines = seen.head.components(separatedBy: "\r\n")
        #expect(lines.first == requestLine, sourceLocation: sourceLocation)
        let headers = expectedHeaderLines(authorization: authorization, contentLength: contentLength ?? seen.body.count)
        #expect(Set(lines.dropFirst()) == headers, sourceLocation: sourceLocation)
        return seen
    }
}
