import Foundation
import Testing
import Yams

/// The command line as the built binary accepts it: its commands and options as `--help` shows them,
/// and the `JUNE_RELAY_*` variables as `june-relay environment` applies them.
enum CommandLineContract {
    /// Every command path `--help` lists, found by following each SUBCOMMANDS section (`offsets` →
    /// `offsets show`, `offsets reset`); groups themselves are not included.
    static func commands() async throws -> [[String]] {
        var result: [[String]] = []
        var pending: [[String]] = [[]]
        while let path = pending.popLast() {
            let names = try await subcommands(of: path)
            if names.isEmpty, !path.isEmpty {
                result.append(path)
            } else {
                pending += names.map { path + [$0] }
            }
        }
        return result.sorted { $0.joined(separator: " ") < $1.joined(separator: " ") }
    }

    static func help(_ path: [String]) async throws -> String {
        let binary = try RepositoryFiles.requireBinary()
        let result = try await ChildProcess.run(binary, path + ["--help"], timeout: .seconds(30))
        try #require(result.status == 0, "june-relay \(path.joined(separator: " ")) --help failed: \(result.stderr)")
        return result.stdout
    }

    /// The names in the SUBCOMMANDS section of `june-relay <path> --help` (without `help`).
    static func subcommands(of path: [String]) async throws -> [String] {
        let lines = try await help(path).split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("SUBCOMMANDS:") }) else { return [] }
        var names: [String] = []
        for line in lines[(header + 1)...] {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            // "  name   abstract" (continuation lines are indented further).
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            let name = String(line.dropFirst(2).prefix { $0 != " " })
            if name != "help" { names.append(name) }
        }
        return names
    }

    /// `--flag` names (without dashes) in the OPTIONS of `june-relay <path> --help`, minus help/version.
    static func flags(of path: [String]) async throws -> Set<String> {
        var flags: Set<String> = []
        for line in try await help(path).split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("  "), trimmed.hasPrefix("-") else { continue }
            for word in trimmed.split(separator: " ").prefix(2) where word.hasPrefix("--") {
                let name = word.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" }
                flags.insert(String(name))
            }
        }
        return flags.subtracting(["help", "version"])
    }

    static func variableName(_ flag: String) -> String {
        "JUNE_RELAY_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `JUNE_RELAY_*` names in a text.
    static func variables(in text: String) -> [String] {
        let regex = try! Regex(#"JUNE_RELAY_[A-Z0-9_]+"#)
        return text.matches(of: regex).map { String(text[$0.range]) }
    }

    /// `june-relay environment` (every command's variables): command path → option names (without dashes).
    /// Each option's variable is ``variableName(_:)`` of its name.
    static func environmentTable() throws -> [[String]: [String]] {
        let binary = try RepositoryFiles.requireBinary()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["environment"]
        process.environment = ChildProcess.childEnvironment()
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "june-relay environment exited \(process.terminationStatus)")
        var table: [[String]: [String]] = [:]
        for line in text.split(separator: "\n") {
            // "<command path> --<option> <VARIABLE>"
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 3, words[words.count - 2].hasPrefix("--") else {
                Issue.record("unexpected line from june-relay environment: \(line)")
                continue
            }
            let option = String(words[words.count - 2].dropFirst(2))
            #expect(words[words.count - 1] == variableName(option), "\(line)")
            table[Array(words.dropLast(2)), default: []].append(option)
        }
        return table
    }

    /// Options that have no variable on purpose: the write key is read only from JUNE_WRITE_KEY.
    static let withoutVariable: Set<String> = ["write-key"]
}

@Suite(.serialized) struct CommandLineContractTests {
    /// Every option of every command has its variable, and the variable reaches the command: with every
    /// variable set, `june-relay environment <command>` prints each option with its value (flags alone);
    /// an option given on the command line is not added again.
    @Test func everyOptionOfEveryCommandIsSetByItsVariable() async throws {
        let binary = try RepositoryFiles.requireBinary()
        let commands = try await CommandLineContract.commands()
        #expect(commands.contains(["run"]) && commands.contains(["dlq", "redrive"]) && commands.contains(["demo"]), "\(commands)")
        let table = try CommandLineContract.environmentTable()
        #expect(Set(table.keys).isSubset(of: Set(commands)), "june-relay environment lists \(table.keys.map { $0.joined(separator: " ") }.sorted())")
        for path in commands {
            let flags = try await CommandLineContract.flags(of: path).subtracting(CommandLineContract.withoutVariable)
            let options = table[path] ?? []
            #expect(Set(options) == flags, "\(path): variables for \(options.sorted()), flags \(flags.sorted())")
            let variables = Dictionary(uniqueKeysWithValues: options.map { ($0, CommandLineContract.variableName($0)) })

            // Every variable set at once: flags to "true", the others to a value naming the option.
            var environment: [String: String] = [:]
            let help = try await CommandLineContract.help(path)
            let isFlag = { (option: String) in !help.contains("--\(option) <") }
            for (option, variable) in variables {
                environment[variable] = isFlag(option) ? "true" : "value-of-\(option)"
            }
            let given = variables.keys.sorted().first { !isFlag($0) }
            var commandLine = path
            if let given { commandLine += ["--\(given)", "from-command-line"] }
            let result = try await ChildProcess.run(binary, ["environment"] + commandLine, environment: environment, timeout: .seconds(30))
            #expect(result.status == 0, "\(result.stderr)")
            let arguments = result.stdout.split(separator: "\n").map(String.init)
            for option in variables.keys.sorted() {
                let positions = arguments.indices.filter { arguments[$0] == "--\(option)" }
                if option == given {
                    #expect(positions.count == 1, "\(path) --\(option) given on the command line and added again: \(arguments)")
                } else if isFlag(option) {
                    #expect(positions.count == 1, "\(path) --\(option) not set by its variable: \(arguments)")
                } else {
                    let values = positions.compactMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
                    #expect(values == ["value-of-\(option)"], "\(path) --\(option) not set by its variable: \(arguments)")
                }
            }
        }
    }

    /// A repeatable option takes several values from one variable; the write key never comes from one.
    @Test func repeatedValuesAndTheWriteKey() async throws {
        let binary = try RepositoryFiles.requireBinary()
        let environment = [
            "JUNE_RELAY_TOPIC": "a, b;c", "JUNE_RELAY_KAFKA_CONFIG": "x=1,2;y=3", "JUNE_RELAY_WRITE_KEY": "secret",
        ]
        let run = try await ChildProcess.run(binary, ["environment", "run"], environment: environment, timeout: .seconds(30))
        let arguments = run.stdout.split(separator: "\n").map(String.init)
        func values(_ option: String) -> [String] {
            arguments.indices.filter { arguments[$0] == option && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
        }
        #expect(arguments.first == "run")
        #expect(values("--topic") == ["a", "b", "c"], "\(arguments)")
        #expect(values("--kafka-config") == ["x=1,2", "y=3"], "\(arguments)")
        #expect(!run.stdout.contains("secret"), "\(arguments)")
        let transform = try await ChildProcess.run(binary, ["environment", "transform"], environment: environment, timeout: .seconds(30))
        #expect(!transform.stdout.contains("secret"), "\(transform.stdout)")
    }

    @Test func specFlagsExist() async throws {
        // The names README documents for these commands (a contract with operators' scripts).
        let expected: [[String]: Set<String>] = [
            ["run"]: [
                "brokers", "topic", "group", "dlq-topic", "june-url", "max-in-flight", "drain-timeout", "kafka-config",
                "metrics-port", "log-level", "log-format", "write-key-file", "commit-metadata-max-bytes",
            ],
            ["offsets", "show"]: ["brokers", "group", "topic"],
            ["offsets", "reset"]: ["brokers", "group", "topic", "partition", "to-earliest", "to-latest", "to-offset", "to-datetime", "dry-run"],
            ["dlq", "redrive"]: ["brokers", "from", "to", "limit"],
            ["june-stub"]: ["port", "latency-ms", "fail-rate", "throttle-rate", "write-key", "capacity", "capacity-429"],
        ]
        for (path, names) in expected {
            let flags = try await CommandLineContract.flags(of: path)
            #expect(names.subtracting(flags).sorted() == [], "\(path)")
        }
    }

    /// Usage errors are found before any connection (exit code 64, EX_USAGE) with a message that says why.
    @Test(
        arguments: [
            (["offsets", "reset", "--group", "g", "--topic", "t"], "choose where to move the offsets"),
            (["offsets", "reset", "--group", "g", "--topic", "t", "--to-earliest", "--to-offset", "3"], "choose only one of"),
            (["offsets", "reset", "--group", "g", "--topic", "t", "--to-datetime", "last tuesday"], "is not an ISO 8601 date-time"),
            (["dlq", "redrive", "--from", "events.dlq", "--to", "events.dlq"], "must name different topics"),
            (["dlq", "redrive", "--from", "events.dlq", "--to", "events", "--limit=-1"], "--limit must not be negative"),
        ] as [([String], String)])
    func usageErrorsExitWith64(arguments: [String], message: String) async throws {
        let binary = try RepositoryFiles.requireBinary()
        let result = try await ChildProcess.run(binary, arguments + ["--brokers", "127.0.0.1:1"], timeout: .seconds(30))
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    /// Every `june-relay` invocation in the packaging files: (subcommand path, arguments).
    static func invocations() throws -> [(where: String, arguments: [String])] {
        var result: [(String, [String])] = []
        // Dockerfile: ENTRYPOINT june-relay, CMD is the default subcommand.
        let dockerfile = try RepositoryFiles.text("Dockerfile")
        if let cmd = dockerfile.split(separator: "\n").first(where: { $0.hasPrefix("CMD ") }) {
            let arguments = try #require(try Yams.load(yaml: String(cmd.dropFirst(4))) as? [String])
            result.append(("Dockerfile CMD", arguments))
        }
        // docker-compose: services built from this repository.
        let compose = try #require(try Yams.load(yaml: RepositoryFiles.text("docker-compose.yml")) as? [String: Any])
        for (name, value) in try #require(compose["services"] as? [String: Any]) {
            guard let service = value as? [String: Any], (service["image"] as? String)?.hasPrefix("june-relay") == true else { continue }
            result.append(("docker-compose \(name)", service["command"] as? [String] ?? ["run"]))
        }
        // Kubernetes: containers of the Deployment.
        for document in try Yams.load_all(yaml: RepositoryFiles.text("deploy/deployment.yaml")) {
            let spec = ((((document as? [String: Any])?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
            for container in spec?["containers"] as? [[String: Any]] ?? [] {
                result.append(("deploy/deployment.yaml", container["args"] as? [String] ?? ["run"]))
            }
        }
        return result
    }

    @Test func packagingUsesOnlyAcceptedFlags() async throws {
        let commands = try await CommandLineContract.commands()
        let invocations = try Self.invocations()
        #expect(invocations.count >= 5)
        for (location, arguments) in invocations {
            let path = Array(arguments.prefix { !$0.hasPrefix("-") }.prefix(2))
            let command = commands.first { path.starts(with: $0) }
            let subcommand = try #require(command, "\(location): unknown subcommand \(path)")
            let flags = try await CommandLineContract.flags(of: subcommand)
            for argument in arguments where argument.hasPrefix("--") {
                let name = String(argument.dropFirst(2).prefix { $0 != "=" })
                #expect(flags.contains(name), "\(location): june-relay \(subcommand.joined(separator: " ")) has no --\(name)")
            }
        }
    }

    @Test func packagingUsesOnlyKnownVariables() async throws {
        let table = try CommandLineContract.environmentTable()
        let runVariables = Set(try #require(table[["run"]]).map(CommandLineContract.variableName))
        let anyVariables = Set(table.values.flatMap { $0 }.map(CommandLineContract.variableName))
        // The relay's own configuration: only variables of `run`.
        for path in ["deploy/configmap.yaml", "deploy/deployment.yaml", "deploy/june-relay.env.example"] {
            let used = Set(CommandLineContract.variables(in: try RepositoryFiles.text(path)))
            #expect(used.subtracting(runVariables).sorted() == [], "\(path)")
        }
        // Dockerfile ENV and compose apply to several subcommands: each must be some subcommand's.
        for path in ["Dockerfile", "docker-compose.yml"] {
            let used = Set(CommandLineContract.variables(in: try RepositoryFiles.text(path)))
            #expect(!used.isEmpty)
            #expect(used.subtracting(anyVariables).sorted() == [], "\(path)")
        }
    }
}
