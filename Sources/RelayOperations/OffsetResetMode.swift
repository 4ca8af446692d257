/// Where `offsets reset` moves a group's committed offsets (exactly one per reset).
public enum OffsetResetMode: Sendable, Equatable {
    /// The low watermark: the oldest record still stored (`--to-earliest`).
    case earliest
    /// The high watermark: after the newest record, so nothing is replayed (`--to-latest`).
    case latest
    /// This offset, clamped into `[low, high]` of each partition (`--to-offset N`).
    case offset(Int64)
    /// The first record whose timestamp is at or after this time, in milliseconds since the epoch,
    /// else the high watermark (`--to-datetime ISO8601`).
    case timestamp(milliseconds: Int64)
}

// MARK: - OffsetResetMode + CustomStringConvertible

extension OffsetResetMode: CustomStringConvertible {
    public var description: String {
        switch self {
        case .earliest: "to-earliest"
        case .latest: "to-latest"
        case .offset(let offset): "to-offset \(offset)"
        case .timestamp(let milliseconds): "to-datetime \(milliseconds) ms"
        }
    }
}
