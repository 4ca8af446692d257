import ArgumentParser

/// `june-relay dlq redrive` (spec §7).
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Work with the dead-letter topic.",
        subcommands: []
    )
}
