/// How many `/api/*` and `/sdk/batch` requests the stub serves at once.
public enum JuneStubCapacity: Sendable, Equatable {
    /// Every request is served at once (the default).
    case unlimited
    /// At most N requests are served at once; the others wait in arrival order (FIFO) for a slot, and
    /// a request holds its slot for the configured latency. What a saturated server with a queue does.
    case queue(Int)
    /// At most N requests are served at once; a request beyond that is answered 429 with
    /// `Retry-After: 1` at once (no queueing, no latency). What a concurrency limiter in front of June does.
    case reject(Int)

    /// N, or nil when unlimited.
    public var limit: Int? {
        switch self {
        case .unlimited: nil
        case .queue(let limit), .reject(let limit): limit
        }
    }
}

/// Settings for `JuneStub`, the local stand-in for June's API.
public struct JuneStubConfiguration: Sendable {
    /// Port to listen on; `0` picks an ephemeral port (read back `JuneStub.port`). Default: 8080.
    public var port: Int
    /// Address to bind. Default: `127.0.0.1`.
    public var host: String
    /// Added before every `/api/*` and `/sdk/batch` response (event-loop timer, no thread held). Default: zero.
    public var latency: Duration
    /// Fraction of `/api/*` and `/sdk/batch` requests answered `503`, drawn at random. Default: 0.
    public var failRate: Double
    /// Fraction of `/api/*` and `/sdk/batch` requests answered `429` with `Retry-After: 1`, drawn at random.
    /// Default: 0.
    public var throttleRate: Double
    /// Seed for the fault-injection draws; `nil` seeds from the system generator. Default: nil.
    public var seed: UInt64?
    /// The one write key accepted (401 `{"error":"invalid write key"}` for any other); `nil` or empty
    /// accepts any non-empty key. Changeable at run time with `POST /control/write-key?key=K`. Default: nil.
    public var writeKey: String?
    /// How many requests are served at once (`--capacity N`, `--capacity-429 N`). Default: unlimited.
    public var capacity: JuneStubCapacity

    public init(
        port: Int = 8080,
        host: String = "127.0.0.1",
        latency: Duration = .zero,
        failRate: Double = 0,
        throttleRate: Double = 0,
        seed: UInt64? = nil,
        writeKey: String? = nil,
        capacity: JuneStubCapacity = .unlimited
    ) {
        self.port = port
        self.host = host
        self.latency = latency
        self.failRate = failRate
        self.throttleRate = throttleRate
        self.seed = seed
        self.writeKey = writeKey
        self.capacity = capacity
    }
}
