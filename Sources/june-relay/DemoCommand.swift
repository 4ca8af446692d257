import ArgumentParser

/// `june-relay demo` (spec §7).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the whole pipeline locally on sample events.")
    @Option(help: "Number of sample events.") var events = 20_000
}
