/// Observed latency of the served `/api/*` and `/sdk/batch` requests, from arrival to answer (queue
/// wait plus latency), as served in `GET /stats` under `latency`. Milliseconds; zeros before any request.
public struct JuneStubLatencyStats: Sendable, Equatable, Codable {
    /// Requests measured.
    public var count: Int
    public var meanMs: Double
    public var p50Ms: Double
    public var p95Ms: Double
    public var p99Ms: Double
    public var maxMs: Double

    public init(count: Int = 0, meanMs: Double = 0, p50Ms: Double = 0, p95Ms: Double = 0, p99Ms: Double = 0, maxMs: Double = 0) {
        self.count = count
        self.meanMs = meanMs
        self.p50Ms = p50Ms
        self.p95Ms = p95Ms
        self.p99Ms = p99Ms
        self.maxMs = maxMs
    }
}

/// A histogram of answer delays in 0.1 ms buckets (sparse: one entry per distinct bucket seen), so
/// a long benchmark costs a few thousand entries at most; the mean is exact, percentiles are the
/// nearest rank's bucket.
struct JuneStubLatency: Sendable {
    private var buckets: [Int: Int] = [:]
    private var count = 0
    private var sumMs = 0.0
    private var maxTenths = 0

    mutating func record(_ delay: Duration) {
        let ms = Double(delay.components.seconds) * 1_000 + Double(delay.components.attoseconds) / 1e15
        let tenths = max(0, Int((ms * 10).rounded()))
        self.buckets[tenths, default: 0] += 1
        self.count += 1
        self.sumMs += max(0, ms)
        self.maxTenths = max(self.maxTenths, tenths)
    }

    var stats: JuneStubLatencyStats {
        guard self.count > 0 else { return JuneStubLatencyStats() }
        let sorted = self.buckets.sorted { $0.key < $1.key }
        func percentile(_ p: Double) -> Double {
            let rank = max(1, Int((p * Double(self.count)).rounded(.up)))
            var seen = 0
            for (tenths, n) in sorted {
                seen += n
                if seen >= rank { return Double(tenths) / 10 }
            }
            return Double(self.maxTenths) / 10
        }
        return JuneStubLatencyStats(
            count: self.count,
            meanMs: (self.sumMs / Double(self.count) * 10).rounded() / 10,
            p50Ms: percentile(0.50),
            p95Ms: percentile(0.95),
            p99Ms: percentile(0.99),
            maxMs: Double(self.maxTenths) / 10
        )
    }
}
