import ArgumentParser
import Foundation

/// `june-relay environment [<command> [options]]`: the `JUNE_RELAY_*` variables of every command, or the
/// command line the current environment makes of `june-relay <command> [options]`, without running it
/// (to check a deployment's configuration). Both come from ``EnvironmentOptions``, the code `main` uses.
struct EnvironmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "environment",
        abstract: "List each command's JUNE_RELAY_* variables, or print the command line the environment makes of a command.",
        discussion: """
            Without arguments: one line per option, "<command> --<option> <VARIABLE>". With a command and \
            options: that command line with the options the JUNE_RELAY_* variables add, one argument per \
            line (an option given on the command line wins). Values are printed as they are.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: "A command and its options, e.g. run --brokers kafka:9092.")
    var commandLine: [String] = []

    func run() {
        if commandLine.isEmpty {
            var lines: [String] = []
            for command in CommandTree(JuneRelayCommand.self).leaves {
                for option in command.options {
                    lines.append("\(command.path.joined(separator: " ")) --\(option.name) \(option.variable)")
                }
            }
            Console.write(lines.map { $0 + "\n" }.joined())
        } else {
            let arguments = EnvironmentOptions.apply(to: commandLine, environment: ProcessInfo.processInfo.environment)
            Console.write(arguments.map { $0 + "\n" }.joined())
        }
    }
}
