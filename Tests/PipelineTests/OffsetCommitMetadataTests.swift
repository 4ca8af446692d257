import Foundation
import TestSupport
import Testing

@testable import Pipeline
@testable import RelayFormats

@Suite struct OffsetCommitMetadataTests {
    /// Unsigned LEB128 length, computed independently of the encoder.
    static func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var rest = value >> 7
        while rest > 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    /// Bytes (before base64) the first `count` ranges take above `committed`.
    static func payloadSize(committed: Int64, ranges: [Range<Int64>], count: Int) -> Int {
        var previous = committed
        var size = 0
        for range in ranges.prefix(count) {
            size += varintSize(UInt64(range.lowerBound - previous)) + varintSize(UInt64(range.count))
            previous = range.upperBound
        }
        return size
    }

    /// The header "jr2:<partition>:<committed>:".
    static func header(partition: Int32 = 0, committed: Int64) -> String { "jr2:\(partition):\(committed):" }

    /// The length of the header + base64 of `bytes` bytes.
    static func encodedLength(committed: Int64, bytes: Int) -> Int { header(committed: committed).utf8.count + 4 * ((bytes + 2) / 3) }

    /// The ranges of metadata valid for partition 0 at `committed`, nil when it is not.
    static func ranges(_ metadata: String, committed: Int64, partition: Int32 = 0) -> [Range<Int64>]? {
        if case .ranges(let ranges) = OffsetCommitMetadata.decode(metadata, partition: partition, committed: committed) { ranges } else { nil }
    }

    static func encode(committed: Int64, ranges: [Range<Int64>], limit: Int = OffsetCommitMetadata.defaultLimit) -> String {
        OffsetCommitMetadata.encode(partition: 0, committed: committed, ranges: ranges, limit: limit)
    }

    /// Ascending, disjoint, non-empty ranges above `committed`, with gaps and lengths of every varint size.
    static func randomRanges(above committed: Int64, count: Int, using rng: inout SplitMix) -> [Range<Int64>] {
        var ranges: [Range<Int64>] = []
        var previous = committed
        for _ in 0..<count {
            let magnitude = [1, 100, 20_000, 5_000_000, 1 << 40][Int.random(in: 0..<5, using: &rng)]
            let gap = Int64.random(in: (ranges.isEmpty ? 0 : 1)...Int64(magnitude), using: &rng)
            let length = Int64.random(in: 1...Int64(magnitude), using: &rng)
            let start = previous + gap
            ranges.append(start..<(start + length))
            previous = start + length
        }
        return ranges
    }

    @Test func roundTripsASmallSet() {
        let ranges: [Range<Int64>] = [11..<13, 20..<21, 300..<100_000]
        let metadata = Self.encode(committed: 10, ranges: ranges)
        #expect(metadata.hasPrefix("jr2:0:10:"))
        #expect(Self.ranges(metadata, committed: 10) == ranges)
        #expect(Self.encode(committed: 10, ranges: []) == "", "nothing done above: no metadata")
        #expect(Self.encode(committed: 10, ranges: [5..<7, 12..<12]) == "", "ranges below the offset and empty ones are left out")
    }

    @Test func encodedRangesAreAMaximalPrefixWithinTheLimit() {
        var rng = SplitMix(seed: 0xC0FFEE)
        for iteration in 0..<400 {
            let committed = Int64.random(in: 0...1_000_000_000_000, using: &rng)
            let ranges = Self.randomRanges(above: committed, count: Int.random(in: 0...700, using: &rng), using: &rng)
            let limit = [4096, 4096, 1000, 64, 12, 8, 5, 4, 0][iteration % 9]
            let metadata = Self.encode(committed: committed, ranges: ranges, limit: limit)
            #expect(metadata.utf8.count <= limit, "iteration \(iteration): \(metadata.utf8.count) bytes over the limit \(limit)")
            #expect(metadata.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "iteration \(iteration): not printable ASCII")
            let decoded: [Range<Int64>]
            if metadata.isEmpty {
                decoded = []
            } else {
                guard let result = Self.ranges(metadata, committed: committed) else {
                    Issue.record("iteration \(iteration): own metadata does not decode")
                    continue
                }
                decoded = result
            }
            #expect(Array(ranges.prefix(decoded.count)) == decoded, "iteration \(iteration): not a prefix of whole ranges")
            if decoded.count < ranges.count {
                let needed = Self.payloadSize(committed: committed, ranges: ranges, count: decoded.count + 1)
                #expect(
                    Self.encodedLength(committed: committed, bytes: needed) > limit, "iteration \(iteration): range \(decoded.count) would have fit")
            }
            if !ranges.isEmpty, limit >= 4096 {
                #expect(!decoded.isEmpty, "iteration \(iteration): the lowest range must be recorded")
            }
        }
    }

    @Test func wrongPrefixEmptyAndNonBase64AreIgnored() {
        let valid = Self.encode(committed: 0, ranges: [1..<2, 5..<9])
        #expect(Self.ranges(valid, committed: 0) == [1..<2, 5..<9])
        let payload = String(valid.dropFirst(Self.header(committed: 0).count))
        let cases: [(String, OffsetCommitMetadata.Decoded)] = [
            ("", .none),
            ("jr1:" + payload, .ignored(.oldVersion)),
            ("jr3:0:0:" + payload, .ignored(.foreign)),
            ("JR2:0:0:" + payload, .ignored(.foreign)),
            (payload, .ignored(.foreign)),
            (" jr2:0:0:" + payload, .ignored(.foreign)),
            ("jr2:", .ignored(.malformed)),
            ("jr2:0:0:", .ignored(.malformed)),
            ("jr2:0:0:" + payload + "!", .ignored(.malformed)),
            ("jr2:0:0:%%%%", .ignored(.malformed)),
            ("jr2:0:0:" + String(payload.dropLast()), .ignored(.malformed)),
            ("jr2:0:" + payload, .ignored(.malformed)),
            ("jr2:00:0:" + payload, .ignored(.malformed)),
            ("jr2:-1:0:" + payload, .ignored(.malformed)),
            ("jr2:0:+0:" + payload, .ignored(.malformed)),
            ("jr2:0:99999999999999999999:" + payload, .ignored(.malformed)),
            ("jr2:4294967296:0:" + payload, .ignored(.malformed)),
        ]
        for (metadata, expected) in cases {
            #expect(OffsetCommitMetadata.decode(metadata, partition: 0, committed: 0) == expected, "\(metadata)")
        }
        #expect(OffsetCommitMetadata.decode(valid, partition: 0, committed: -1) == .ignored(.baseMismatch), "no committed offset")
    }

    @Test func metadataNamesItsPartitionAndBase() {
        let metadata = OffsetCommitMetadata.encode(partition: 7, committed: 1_000, ranges: [1_001..<1_005, 1_010..<1_011])
        #expect(metadata.hasPrefix("jr2:7:1000:"), "\(metadata)")
        #expect(OffsetCommitMetadata.decode(metadata, partition: 7, committed: 1_000) == .ranges([1_001..<1_005, 1_010..<1_011]))
        #expect(OffsetCommitMetadata.decode(metadata, partition: 7, committed: 955) == .ignored(.baseMismatch), "moved 45 lower, metadata kept")
        #expect(OffsetCommitMetadata.decode(metadata, partition: 7, committed: 1_001) == .ignored(.baseMismatch))
        #expect(OffsetCommitMetadata.decode(metadata, partition: 3, committed: 1_000) == .ignored(.partitionMismatch))
        #expect(OffsetCommitMetadata.describeBase(metadata) == "p7@1000")
        #expect(OffsetCommitMetadata.describeBase("jr1:AQE=") == "none")
    }

    @Test func theWholeStringStaysWithinTheLimitHeaderIncluded() {
        let first: Int64 = 2_000_000_000_000
        let ranges: [Range<Int64>] = (0..<Int64(2_000)).map { (index: Int64) -> Range<Int64> in
            let start = first + index * 3
            return start..<(start + 1)
        }
        for limit in [4096, 1000, 64, 30, 29, 10, 0] {
            let metadata = OffsetCommitMetadata.encode(partition: 123_456, committed: 1_999_999_999_999, ranges: ranges, limit: limit)
            #expect(metadata.utf8.count <= limit, "limit \(limit): \(metadata.utf8.count) bytes")
            if !metadata.isEmpty {
                let decoded = OffsetCommitMetadata.decode(metadata, partition: 123_456, committed: 1_999_999_999_999).skippable
                #expect(!decoded.isEmpty && Array(ranges.prefix(decoded.count)) == decoded, "limit \(limit)")
            }
        }
    }

    @Test func halvedKeepsTheLowerHalfOfTheRangesThenNone() {
        let ranges: [Range<Int64>] = [11..<13, 20..<21, 30..<31, 40..<41, 50..<60]
        let full = OffsetCommitMetadata.encode(partition: 2, committed: 10, ranges: ranges)
        let half = OffsetCommitMetadata.halved(full, partition: 2, committed: 10)
        #expect(OffsetCommitMetadata.decode(half, partition: 2, committed: 10) == .ranges([11..<13, 20..<21]))
        #expect(half.utf8.count < full.utf8.count)
        let quarter = OffsetCommitMetadata.halved(half, partition: 2, committed: 10)
        #expect(OffsetCommitMetadata.decode(quarter, partition: 2, committed: 10) == .ranges([11..<13]))
        #expect(OffsetCommitMetadata.halved(quarter, partition: 2, committed: 10) == "", "one range: nothing left to halve")
        #expect(OffsetCommitMetadata.halved("foreign", partition: 2, committed: 10) == "")
    }

    @Test func randomGarbageDecodesToNilOrToWellFormedRanges() {
        var rng = SplitMix(seed: 99)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!-_.: \n")
        for iteration in 0..<400 {
            let text = String((0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for metadata in ["jr2:0:1000:" + text, "jr2:0:1000:" + Data(bytes).base64EncodedString(), "jr2:" + text] {
                guard let ranges = Self.ranges(metadata, committed: 1_000) else { continue }
                var previous: Int64 = 1_000
                for range in ranges {
                    #expect(!range.isEmpty && range.lowerBound >= previous, "iteration \(iteration): \(metadata) gave \(ranges)")
                    previous = range.upperBound
                }
            }
        }
    }

    @Test func truncatedPayloadDecodesToNilUnlessCutBetweenRanges() {
        var rng = SplitMix(seed: 5)
        for iteration in 0..<200 {
            let ranges = Self.randomRanges(above: 0, count: Int.random(in: 1...6, using: &rng), using: &rng)
            let metadata = Self.encode(committed: 0, ranges: ranges)
            let bytes = [UInt8](Data(base64Encoded: String(metadata.dropFirst(Self.header(committed: 0).count)))!)
            var boundaries: [Int: Int] = [:]  // byte count -> ranges complete there
            for count in 1...ranges.count { boundaries[Self.payloadSize(committed: 0, ranges: ranges, count: count)] = count }
            for cut in 0..<bytes.count {
                let truncated = Self.header(committed: 0) + Data(bytes[..<cut]).base64EncodedString()
                let decoded = Self.ranges(truncated, committed: 0)
                if cut == 0 {
                    #expect(decoded == nil, "iteration \(iteration): an empty payload is malformed")
                } else if let complete = boundaries[cut] {
                    #expect(decoded == Array(ranges.prefix(complete)), "iteration \(iteration), cut \(cut)")
                } else {
                    #expect(decoded == nil, "iteration \(iteration), cut \(cut) inside a range")
                }
            }
        }
    }

    @Test func overflowingVarintsAndOffsetsDecodeToNil() {
        func metadata(_ bytes: [UInt8], _ committed: Int64) -> String { Self.header(committed: committed) + Data(bytes).base64EncodedString() }
        var huge: [UInt8] = []
        OffsetCommitMetadata.appendVarint(UInt64.max, to: &huge)
        var beyondInt64: [UInt8] = []
        OffsetCommitMetadata.appendVarint(UInt64(Int64.max) + 1, to: &beyondInt64)
        var ten: [UInt8] = []
        OffsetCommitMetadata.appendVarint(10, to: &ten)
        let cases: [(String, [UInt8], Int64)] = [
            ("eleven continuation bytes", Array(repeating: 0xFF, count: 11) + [0x01, 0x01], 0),
            ("a tenth byte above 1", Array(repeating: 0x80, count: 9) + [0x02, 0x01], 0),
            ("a gap of UInt64.max", huge + [0x01], 0),
            ("a gap beyond Int64.max", beyondInt64 + [0x01], 0),
            ("a length beyond Int64.max", [0x00] + beyondInt64, 0),
            ("start overflows", ten + [0x01], Int64.max - 5),
            ("end overflows", [0x00] + ten, Int64.max - 5),
            ("an empty range", [0x01, 0x00], 0),
            ("a gap without its length", [0x01], 0),
        ]
        for (name, bytes, committed) in cases {
            #expect(Self.ranges(metadata(bytes, committed), committed: committed) == nil, "\(name)")
        }
        var largest: [UInt8] = []
        OffsetCommitMetadata.appendVarint(UInt64(Int64.max - 1), to: &largest)
        #expect(Self.ranges(metadata([0x00] + largest, 0), committed: 0) == [0..<(Int64.max - 1)], "the largest range still decodes")
    }

    @Test func tooManyRangesDecodeToNil() {
        let bytes = [UInt8](repeating: 0x01, count: 2 * (OffsetCommitMetadata.maxRanges + 1))
        #expect(Self.ranges(Self.header(committed: 0) + Data(bytes).base64EncodedString(), committed: 0) == nil)
    }
}
