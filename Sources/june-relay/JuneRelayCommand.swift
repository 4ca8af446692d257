import ArgumentParser
import Foundation

/// `june-relay`: streams RudderStack events from Kafka into June. The commands and their options are listed
/// in README ("Commands and flags").
@main
struct JuneRelayCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "june-relay",
        abstract: "Stream RudderStack events from Kafka into June, in order per user, with a dead-letter topic.",
        discussion: """
            Every option --some-option of every command can also be set with the environment variable \
            JUNE_RELAY_SOME_OPTION (an option on the command line wins; `june-relay environment` lists them). \
            The June write key comes from JUNE_WRITE_KEY or --write-key-file, never from a plain flag.
            """,
        version: version,
        subcommands: [
            RunCommand.self, TransformCommand.self, DevBrokerCommand.self, JuneStubCommand.self,
            DemoCommand.self, OffsetsCommand.self, DLQCommand.self, DevProduceCommand.self, EnvironmentCommand.self,
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
            // relay-spec §8: for `run`, a bad flag is a start-up error like every other start-up check
            // (exit 2, naming the flag); other commands keep ArgumentParser's usage error (exit 64).
            if arguments.first == RunCommand.configuration.commandName, exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                exit(withError: ExitCode(RunCommand.startUpError))
            }
            exit(withError: error)
        }
    }
}
