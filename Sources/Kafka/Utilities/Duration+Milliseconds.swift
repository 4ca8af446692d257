extension Duration {
    /// Whole milliseconds, rounded down, clamped to `0...Int32.max` (what librdkafka timeouts take).
    var clampedMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        if seconds >= Int64(Int32.max) / 1000 { return Int32.max }
        return Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// The milliseconds as a decimal string, for librdkafka `*.ms` properties.
    var millisecondsProperty: String { String(clampedMilliseconds) }
}
