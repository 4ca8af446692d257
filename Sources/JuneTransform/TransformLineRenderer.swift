/// Renders one `june-relay transform` output line (README, "Commands and flags") for one transform result:
///
///     {"request":{"method":"POST","url":"https://api.june.so/api/track","headers":{"Authorization":"Basic KEY","Content-Type":"application/json"},"body":{…}}}
///     {"error":{"statusCode":400,"message":"…"}}
///
/// The `Authorization` header is left out when there is no write key. Lines have no trailing newline.
public struct TransformLineRenderer: Sendable {
    /// Everything before the body, per event type (indexed like `JuneEventType.allCases`).
    private let requestPrefixes: [[UInt8]]

    /// - Parameters:
    ///   - juneURL: the June base URL; trailing slashes are ignored.
    ///   - writeKey: the June write key, sent as `Basic <key>`; nil leaves the header out.
    public init(juneURL: String = JuneAPI.defaultBaseURL, writeKey: String?) {
        var base = Substring(juneURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        requestPrefixes = JuneEventType.allCases.map { type in
            var out: [UInt8] = []
            out.appendStatic("{\"request\":{\"method\":\"POST\",\"url\":")
            JSONText.appendQuoted("\(base)\(JuneAPI.eventPath(type))", to: &out)
            out.appendStatic(",\"headers\":{")
            if let writeKey {
                out.appendStatic("\"Authorization\":")
                JSONText.appendQuoted(JuneAPI.eventAuthorization(writeKey: writeKey), to: &out)
                out.append(UInt8(ascii: ","))
            }
            out.appendStatic("\"Content-Type\":\"application/json\"},\"body\":")
            return out
        }
    }

    /// One JSON line (no trailing newline) for one input line.
    public func render(_ result: Result<JuneRequest, TransformError>) -> [UInt8] {
        var out: [UInt8] = []
        switch result {
        case .success(let request):
            let prefix = requestPrefixes[request.type.index]
            out.reserveCapacity(prefix.count + request.body.count + 2)
            out.append(contentsOf: prefix)
            out.append(contentsOf: request.body)
            out.appendStatic("}}")
        case .failure(let error):
            out.appendStatic("{\"error\":{\"statusCode\":")
            out.append(contentsOf: Array(String(error.statusCode).utf8))
            out.appendStatic(",\"message\":")
            JSONText.appendQuoted(error.message, to: &out)
            out.appendStatic("}}")
        }
        return out
    }
}
