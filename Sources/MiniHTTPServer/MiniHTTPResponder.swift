/// How a `MiniHTTPServer` turns a request into a response.
public enum MiniHTTPResponder: Sendable {
    /// Runs directly on the connection's event loop: the cheapest path (no task, no thread hop).
    /// It must be quick and must never block. Use `MiniHTTPResponse.delay` to answer later.
    case synchronous(@Sendable (MiniHTTPRequest) -> MiniHTTPResponse)
    /// Runs in a Swift concurrency task; the response is written back on the event loop.
    case asynchronous(@Sendable (MiniHTTPRequest) async -> MiniHTTPResponse)
}
