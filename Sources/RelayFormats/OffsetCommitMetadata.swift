import Foundation

/// The offset-commit metadata june-relay writes beside each committed offset: which offsets above the
/// committed one are already done, so the partition's next owner (after a rebalance or a restart)
/// skips them instead of sending them to June again. Format (documented in docs/design.md, Offsets):
///
///     "jr2:" + partition + ":" + base + ":" + base64( varint(start₁ - base), varint(end₁ - start₁),
///                                                     varint(start₂ - end₁), varint(end₂ - start₂), … )
///
/// `partition` and `base` (the committed offset the string was written for) are decimal. Each pair is
/// one half-open range `start..<end` of done offsets, ascending and disjoint; varints are unsigned
/// LEB128. A delta list of varints is the densest encoding for sparse sets; base64 keeps the string
/// ASCII, as the protocol's metadata string should be. When the ranges do not fit in `limit` bytes (the
/// whole string), the lowest ranges that fit are kept: the rest are re-sent by the next owner (bounded
/// re-sends, never a stop of consumption).
///
/// The base is what makes the ranges safe to trust: tools that move a group's offset keep its metadata
/// (MirrorMaker 2 pairs it with a translated, lower offset), and ranges read against another offset
/// would name records that were never delivered. Metadata whose base or partition is not the one it is
/// stored with is ignored, as is the older `jr1:` encoding, which has no base.
public enum OffsetCommitMetadata {
    public static let prefix = "jr2:"
    /// The encoding before the base was part of the string; it cannot be checked and is ignored.
    public static let oldPrefix = "jr1:"
    /// Kafka's default `offset.metadata.max.bytes`.
    public static let defaultLimit = 4096
    /// Ranges decoded from one string, at most (a sanity bound against hostile metadata).
    public static let maxRanges = 1 << 16

    /// Why metadata stored beside a committed offset was not used (the label of
    /// `relay_commit_metadata_ignored_total`).
    public enum IgnoredReason: String, Sendable, CaseIterable {
        /// Written for another committed offset (the offset was moved and the metadata kept).
        case baseMismatch = "base-mismatch"
        /// Written for another partition.
        case partitionMismatch = "partition-mismatch"
        /// `jr1:`, which does not name its base.
        case oldVersion = "old-version"
        /// Starts as ours but does not decode (corrupt or truncated).
        case malformed
        /// Another tool's metadata, or a version this relay does not know.
        case foreign
    }

    /// What a stored metadata string means for the offset and partition it is stored with.
    public enum Decoded: Equatable, Sendable {
        /// No metadata: nothing recorded above the committed offset.
        case none
        /// Done ranges above the committed offset, ascending.
        case ranges([Range<Int64>])
        /// Not usable: everything above the committed offset is processed.
        case ignored(IgnoredReason)

        /// The done ranges to skip (empty unless ``ranges(_:)``).
        public var skippable: [Range<Int64>] {
            if case .ranges(let ranges) = self { ranges } else { [] }
        }

        public var ignoredReason: IgnoredReason? {
            if case .ignored(let reason) = self { reason } else { nil }
        }
    }

    /// Encodes the done ranges above `committed` in `partition`, lowest first, within `limit` bytes in
    /// total. Returns "" when there is nothing to record (or not even the header fits).
    public static func encode(
        partition: Int32,
        committed: Int64,
        ranges: some Sequence<Range<Int64>>,
        limit: Int = defaultLimit
    ) -> String {
        let header = "\(prefix)\(partition):\(committed):"
        let base64Budget = limit - header.utf8.count
        guard base64Budget >= 4 else { return "" }
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
        return header + Data(bytes).base64EncodedString()
    }

    /// Decodes metadata stored beside `committed` in `partition`. Only `jr2:` metadata written for
    /// exactly this partition and offset gives ranges; anything else (another base or partition, `jr1:`,
    /// another tool's, corrupt or truncated data) is ignored, with the reason.
    public static func decode(_ metadata: String, partition: Int32, committed: Int64) -> Decoded {
        if metadata.isEmpty { return .none }
        guard metadata.hasPrefix(prefix) else {
            return .ignored(metadata.hasPrefix(oldPrefix) ? .oldVersion : .foreign)
        }
        let fields = metadata.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3,
            let writtenPartition = decimal(fields[0]).flatMap(Int32.init(exactly:)),
            let base = decimal(fields[1]),
            let data = Data(base64Encoded: String(decoding: fields[2], as: UTF8.self)), !data.isEmpty,
            let ranges = ranges([UInt8](data), above: base)
        else { return .ignored(.malformed) }
        guard writtenPartition == partition else { return .ignored(.partitionMismatch) }
        guard base == committed else { return .ignored(.baseMismatch) }
        return .ranges(ranges)
    }

    /// The same metadata with only the lower half of its ranges ("" when it holds one range or none, or
    /// is not valid metadata for `partition` and `committed`): what is retried when the broker refuses
    /// a commit's metadata as too large.
    public static func halved(_ metadata: String, partition: Int32, committed: Int64) -> String {
        let ranges = decode(metadata, partition: partition, committed: committed).skippable
        guard ranges.count > 1 else { return "" }
        return encode(partition: partition, committed: committed, ranges: ranges.prefix(ranges.count / 2), limit: metadata.utf8.count)
    }

    /// For logs: the partition and base a `jr2:` string names ("p<partition>@<base>"), or "none".
    public static func describeBase(_ metadata: String) -> String {
        guard metadata.hasPrefix(prefix) else { return "none" }
        let fields = metadata.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, let partition = decimal(fields[0]), let base = decimal(fields[1]) else { return "none" }
        return "p\(partition)@\(base)"
    }

    /// How many offsets the ranges hold.
    public static func count(_ ranges: [Range<Int64>]) -> Int64 {
        ranges.reduce(0) { $0 + Int64($1.count) }
    }

    /// A canonical non-negative decimal (no sign, no leading zeros), or nil.
    private static func decimal(_ digits: Substring.UTF8View) -> Int64? {
        guard !digits.isEmpty, digits.count <= 19, digits.first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
        var value: Int64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    private static func ranges(_ bytes: [UInt8], above base: Int64) -> [Range<Int64>]? {
        var index = 0
        var previous = base
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
