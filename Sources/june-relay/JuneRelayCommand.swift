import ArgumentParser
import Foundation

/// `june-relay`: streams RudderStack events from Kafka into June. Subcommands follow spec §7.
@main
struct JuneRelayCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "june-relay",
        abstract: "Stream RudderStack events from Kafka into June, in order per user, with a dead-letter topic.",
        discussion: """
            Every flag --some-flag can also be set with the environment variable JUNE_RELAY_SOME_FLAG.
            The June write key comes from JUNE_WRITE_KEY or --write-key-file, never from a plain flag.
            """,
        version: version,
        subcommands: [
            RunCommand.self, TransformCommand.self, DevBrokerCommand.self, JuneStubCommand.self,
            DemoCommand.self, OffsetsCommand.self, DLQCommand.self, DevProduceCommand.self,
        ]
    )

    static func main() async {
        let arguments = EnvironmentOptions.apply(
            to: Array(CommandLine.arguments.dropFirst()),
            environment: ProcessInfo.processInfo.environment
        )
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
