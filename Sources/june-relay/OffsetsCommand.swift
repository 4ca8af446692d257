import ArgumentParser
import Foundation
import Kafka
import Logging
import RelayOperations

/// `june-relay offsets show|reset`: read and move a consumer group's committed offsets (docs/operations.md).
struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets",
        abstract: "Show or reset a consumer group's committed offsets.",
        subcommands: [OffsetsShowCommand.self, OffsetsResetCommand.self]
    )
}

/// `june-relay offsets show --brokers B --group G --topic T`.
struct OffsetsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print, per partition, the group's committed offset, the low and end offsets, and the lag."
    )

    @OptionGroup var kafka: KafkaToolOptions

    @Option(help: "Consumer group id.")
    var group: String

    @Option(help: "Topic.")
    var topic: String

    func run() async throws {
        let offsets = try kafka.groupOffsets()
        let snapshot = try await offsets.snapshot(group: group, topic: topic)
        Console.write(OffsetsReport.render(snapshot))
    }
}

/// `june-relay offsets reset ... (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO8601) [--dry-run]`.
struct OffsetsResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Move a consumer group's committed offsets (like kafka-consumer-groups --reset-offsets).",
        discussion: """
            Prints the plan (per partition: current -> new offset), then commits it unless --dry-run. \
            --to-offset is clamped into [low, end] of each partition. --to-datetime takes ISO 8601 \
            (2026-11-26T12:00:00Z, 2026-11-26T13:00:00.250+01:00, 2026-11-26; no zone = UTC) and moves to the \
            first record at or after that time. The group must have no active members: stop every relay of the \
            group first. A reset while members are active is refused (exit code 1) and changes nothing.
            """
    )

    @OptionGroup var kafka: KafkaToolOptions

    @Option(help: "Consumer group id.")
    var group: String

    @Option(help: "Topic.")
    var topic: String

    @Option(help: "Reset only this partition (default: every partition of the topic).")
    var partition: Int32?

    @Flag(help: "Move to the oldest record still stored (low watermark).")
    var toEarliest = false

    @Flag(help: "Move to the end (high watermark): skip everything not yet read.")
    var toLatest = false

    @Option(help: "Move to this offset (clamped into [low, end] per partition).")
    var toOffset: Int64?

    @Option(help: "Move to the first record at or after this ISO 8601 time.")
    var toDatetime: String?

    @Flag(help: "Print the plan and change nothing.")
    var dryRun = false

    func validate() throws {
        let given = [
            toEarliest ? "--to-earliest" : nil, toLatest ? "--to-latest" : nil,
            toOffset != nil ? "--to-offset" : nil, toDatetime != nil ? "--to-datetime" : nil,
        ].compactMap { $0 }
        guard given.count == 1 else {
            throw ValidationError(
                given.isEmpty
                    ? "choose where to move the offsets: one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO8601"
                    : "choose only one of --to-earliest, --to-latest, --to-offset, --to-datetime (got \(given.joined(separator: ", ")))"
            )
        }
        if let toDatetime, ISO8601Timestamp.milliseconds(from: toDatetime) == nil {
            throw ValidationError(
                "--to-datetime \"\(toDatetime)\" is not an ISO 8601 date-time (e.g. 2026-11-26T12:00:00Z, 2026-11-26T13:00:00.250+01:00)"
            )
        }
        if let partition, partition < 0 { throw ValidationError("--partition must not be negative") }
    }

    var mode: OffsetResetMode {
        if toEarliest { return .earliest }
        if toLatest { return .latest }
        if let toOffset { return .offset(toOffset) }
        if let toDatetime, let milliseconds = ISO8601Timestamp.milliseconds(from: toDatetime) {
            return .timestamp(milliseconds: milliseconds)
        }
        return .earliest  // unreachable after validate()
    }

    var modeDescription: String {
        if let toDatetime, let milliseconds = ISO8601Timestamp.milliseconds(from: toDatetime) {
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
            return "to-datetime \(toDatetime) = \(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date))"
        }
        return mode.description
    }

    func run() async throws {
        let offsets = try kafka.groupOffsets()
        let plan = try await offsets.plan(group: group, topic: topic, partition: partition, mode: mode)
        Console.write(OffsetsReport.render(plan, modeDescription: modeDescription))
        if dryRun {
            Console.printLine("dry run: nothing committed")
            return
        }
        let after = try await offsets.apply(plan)
        Console.printLine(
            "committed new offsets for \(plan.changes.count) partition\(plan.changes.count == 1 ? "" : "s") of \(topic) in group \(group):")
        Console.write(OffsetsReport.render(after))
    }
}
