/// Settings for a `MiniHTTPServer`.
public struct MiniHTTPServerConfiguration: Sendable {
    /// Address to bind. Default: `127.0.0.1`.
    public var host: String
    /// Port to bind; `0` picks an ephemeral port (read it back from `MiniHTTPServer.port`). Default: `8080`.
    public var port: Int
    /// Largest request body accepted; larger bodies get `413` and the connection is closed. Default: 4 MiB.
    public var maxBodySize: Int
    /// Listen backlog. Default: `1024`.
    public var backlog: Int32

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodySize: Int = 4 << 20, backlog: Int32 = 1024) {
        self.host = host
        self.port = port
        self.maxBodySize = maxBodySize
        self.backlog = backlog
    }
}
