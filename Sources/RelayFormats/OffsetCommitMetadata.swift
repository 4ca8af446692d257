import Foundation

/// The offset-commit metadata june-relay writes beside each committed offset: which offsets above the
/// committed one are already done, so the partition's next owner (after a rebalance or a restart)
/// skips them instead of sending them to June again. Format (documented in docs/design.md):
///
///     "jr1:" + base64( varint(start₁ - committed), varint(end₁ - start₁),
///                      varint(start₂ - end₁),      varint(end₂ - start₂), … )
///
/// Each pair is one half-open range `start..<end` of done offsets, ascending and disjoint; varints are
/// unsigned LEB128. A delta list of varints is the densest encoding for sparse sets; base64 keeps the
/// string ASCII, as the protocol's metadata string should be. When the ranges do not fit in `limit`
/// bytes, the lowest ranges that fit are kept: the rest are re-sent by the next owner (bounded re-sends,
/// never a stop of consumption).
public enum OffsetCommitMetadata {
    public static let prefix = "jr1:"
    /// Kafka's default `offset.metadata.max.bytes`.
    public static let defaultLimit = 4096
    /// Ranges decoded from one string, at most (a sanity bound against hostile metadata).
    public static let maxRanges = 1 << 16

    /// Encodes the done ranges above `committed`, lowest first, within `limit` bytes in total.
    /// Returns "" when there is nothing to record.
    public static func encode(committed: Int64, ranges: some Sequence<Range<Int64>>, limit: Int = defaultLimit) -> String {
        let base64Budget = max(0, limit - prefix.utf8.count)
        let byteBudget = (base64Budget / 4) * 3
        var bytes: [UInt8] = []
        var previous = committed
        for range in ranges where !range.isEmpty {
            guard range.lowerBound >= previous else { continue }  // not ascending: skip rather than corrupt
            var item: [UInt8] = []
            appendVarint(UInt64(range.lowerBound - previous), to: &item)
            appendVarint(UInt64(range.upperBound - range.lowerBound), to: &item)
            if bytes.count + item.count > byteBudget { break }
            bytes += item
            previous = range.upperBound
        }
        guard !bytes.isEmpty else { return "" }
        return prefix + Data(bytes).base64EncodedString()
    }

    /// Decodes metadata written by ``encode(committed:ranges:limit:)`` for the same committed offset.
    /// Returns nil for anything else: empty, another tool's metadata, a future version, corrupt or
    /// truncated data. Callers then process everything above the committed offset.
    public static func decode(_ metadata: String, committed: Int64) -> [Range<Int64>]? {
        guard metadata.hasPrefix(prefix), committed >= 0 else { return nil }
        guard let data = Data(base64Encoded: String(metadata.dropFirst(prefix.count))), !data.isEmpty else { return nil }
        let bytes = [UInt8](data)
        var index = 0
        var previous = committed
        var ranges: [Range<Int64>] = []
        while index < bytes.count {
            guard ranges.count < maxRanges,
                let gap = readVarint(bytes, &index), let length = readVarint(bytes, &index),
                length > 0, gap <= UInt64(Int64.max), length <= UInt64(Int64.max)
            else { return nil }
            let (start, overflow1) = previous.addingReportingOverflow(Int64(gap))
            guard !overflow1 else { return nil }
            let (end, overflow2) = start.addingReportingOverflow(Int64(length))
            guard !overflow2 else { return nil }
            ranges.append(start..<end)
            previous = end
        }
        return ranges
    }

    /// How many offsets the ranges hold.
    public static func count(_ ranges: [Range<Int64>]) -> Int64 {
        ranges.reduce(0) { $0 + Int64($1.count) }
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func readVarint(_ bytes: [UInt8], _ index: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            guard shift < 64, shift < 63 || byte <= 1 else { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil  // truncated
    }
}
