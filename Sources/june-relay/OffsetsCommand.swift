import ArgumentParser

/// `june-relay offsets show|reset` (spec §7).
struct OffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsets",
        abstract: "Show or reset a consumer group's committed offsets.",
        subcommands: []
    )
}
