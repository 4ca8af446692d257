import ArgumentParser
import Foundation

/// Every option `--some-option` of every command can also be set with the environment variable
/// `JUNE_RELAY_SOME_OPTION`; an option on the command line wins.
///
/// ArgumentParser reads only the command line, so before parsing, environment values are appended as
/// options. Which options a command has comes from ArgumentParser itself: its description of the
/// command tree (the JSON that `june-relay --experimental-dump-help` prints, `_dumpHelp()`), so an
/// option added to a command gets its variable with no other change. `june-relay environment <command>`
/// shows the result.
enum EnvironmentOptions {
    /// How a variable's value becomes arguments.
    enum Kind: Equatable {
        /// `--option VALUE`
        case single
        /// `--option VALUE` repeated; the variable holds several values separated by `;` or newlines (and
        /// `,` for topics, whose names cannot contain one).
        case repeated(separators: Set<Character>)
        /// `--flag` when the variable is `1`, `true` or `yes`.
        case flag
    }

    struct Option: Equatable {
        var name: String
        var kind: Kind
        var variable: String { EnvironmentOptions.variableName(for: name) }
    }

    /// Options that are never read from the environment: ArgumentParser's own, and `--write-key`
    /// (`transform`): the June write key is a secret and travels only in `JUNE_WRITE_KEY` or a file,
    /// never beside the non-secret configuration.
    static let excluded: Set<String> = ["help", "version", "experimental-dump-help", "generate-completion-script", "write-key"]

    /// Repeated options whose values can never contain a comma, so `,` separates them too.
    static let commaSeparated: Set<String> = ["topic"]

    static func variableName(for option: String) -> String {
        "JUNE_RELAY_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The arguments with environment-provided options appended (for the command the arguments name).
    static func apply(
        to arguments: [String],
        environment: [String: String],
        root: any ParsableCommand.Type = JuneRelayCommand.self
    ) -> [String] {
        guard environment.keys.contains(where: { $0.hasPrefix("JUNE_RELAY_") }) else { return arguments }
        let command = CommandTree(root).command(at: arguments)
        var result = arguments
        for option in command.options {
            let spelled = "--" + option.name
            let given = arguments.contains { $0 == spelled || $0.hasPrefix(spelled + "=") }
            guard !given, let value = environment[option.variable], !value.isEmpty else { continue }
            switch option.kind {
            case .single:
                result += [spelled, value]
            case .repeated(let separators):
                for item in value.split(whereSeparator: { separators.contains($0) }) {
                    let trimmed = item.trimmingCharacters(in: .whitespaces)
                    if !trimmed.isEmpty { result += [spelled, trimmed] }
                }
            case .flag:
                if ["1", "true", "yes"].contains(value.lowercased()) { result.append(spelled) }
            }
        }
        return result
    }
}

/// The commands and options of a `ParsableCommand` tree, decoded from ArgumentParser's JSON description
/// (only the fields needed here).
struct CommandTree {
    struct Command {
        var path: [String]
        var options: [EnvironmentOptions.Option]
        var subcommands: [Command]
        var isShown: Bool
    }

    let root: Command

    init(_ type: any ParsableCommand.Type) {
        let json = Data(type._dumpHelp().utf8)
        let info = (try? JSONDecoder().decode(ToolInfo.self, from: json))?.command
        root = Self.command(info, path: [])
    }

    /// The deepest command that the leading words of `arguments` name (the root when none does).
    func command(at arguments: [String]) -> Command {
        var current = root
        for word in arguments {
            guard !word.hasPrefix("-"), let next = current.subcommands.first(where: { $0.path.last == word }) else { break }
            current = next
        }
        return current
    }

    /// Every command without subcommands that `--help` lists, depth first.
    var leaves: [Command] {
        func collect(_ command: Command) -> [Command] {
            guard command.isShown else { return [] }
            return command.subcommands.isEmpty ? [command] : command.subcommands.flatMap(collect)
        }
        return root.subcommands.flatMap(collect)
    }

    private static func command(_ info: ToolInfo.CommandInfo?, path: [String]) -> Command {
        guard let info else { return Command(path: path, options: [], subcommands: [], isShown: true) }
        var options: [EnvironmentOptions.Option] = []
        for argument in info.arguments ?? [] {
            guard let name = argument.names?.first(where: { $0.kind == "long" })?.name,
                !EnvironmentOptions.excluded.contains(name)
            else { continue }
            switch argument.kind {
            case "flag":
                options.append(.init(name: name, kind: .flag))
            case "option" where argument.isRepeating:
                let separators: Set<Character> = EnvironmentOptions.commaSeparated.contains(name) ? [",", ";", "\n"] : [";", "\n"]
                options.append(.init(name: name, kind: .repeated(separators: separators)))
            case "option":
                options.append(.init(name: name, kind: .single))
            default:
                continue  // positional arguments have no name to derive a variable from
            }
        }
        let subcommands = (info.subcommands ?? []).filter { $0.commandName != "help" }.map {
            command($0, path: path + [$0.commandName])
        }
        return Command(path: path, options: options, subcommands: subcommands, isShown: info.shouldDisplay ?? true)
    }

    /// The part of ArgumentParser's `ToolInfoV0` JSON that is read.
    private struct ToolInfo: Decodable {
        struct CommandInfo: Decodable {
            var commandName: String
            var shouldDisplay: Bool?
            var subcommands: [CommandInfo]?
            var arguments: [ArgumentInfo]?
        }

        struct ArgumentInfo: Decodable {
            struct Name: Decodable {
                var kind: String
                var name: String
            }

            var kind: String
            var isRepeating: Bool
            var names: [Name]?
        }

        var command: CommandInfo
    }
}
