import Foundation
import Testing
import Yams

/// The command line as the built binary accepts it (from `june-relay <subcommand> --help`) and the
/// environment table of `Sources/june-relay/EnvironmentOptions.swift`.
enum CommandLineContract {
    /// The subcommand paths whose flags are checked.
    static let subcommands: [[String]] = [
        ["run"], ["june-stub"], ["dev-broker"], ["dev-produce"], ["offsets", "show"], ["offsets", "reset"], ["dlq", "redrive"],
    ]

    /// `--flag` names (without dashes) in the OPTIONS of `june-relay <path> --help`, minus help/version.
    static func flags(of path: [String]) async throws -> Set<String> {
        let binary = try RepositoryFiles.requireBinary()
        let result = try await ChildProcess.run(binary, path + ["--help"], timeout: .seconds(30))
        try #require(result.status == 0, "june-relay \(path.joined(separator: " ")) --help failed: \(result.stderr)")
        var flags: Set<String> = []
        for line in result.stdout.split(separator: "\n") {
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

    /// `EnvironmentOptions.options` read from its source: subcommand path → option names.
    static func environmentTable() throws -> [[String]: [String]] {
        let source = try RepositoryFiles.text("Sources/june-relay/EnvironmentOptions.swift")
        let names = try! Regex(#"\(\"([a-z0-9-]+)\",\s*\."#)
        func namesInBracket(startingAt start: String.Index) -> (names: [String], end: String.Index) {
            var depth = 0
            var index = start
            repeat {
                if source[index] == "[" { depth += 1 }
                if source[index] == "]" { depth -= 1 }
                index = source.index(after: index)
            } while depth > 0 && index < source.endIndex
            let block = source[start..<index]
            return (block.matches(of: names).map { String(block[$0.range].dropFirst(2).prefix { $0 != "\"" }) }, index)
        }
        var constants: [String: [String]] = [:]
        let constantRegex = try! Regex(#"static let ([a-zA-Z]+): \[\(name: String, kind: Kind\)\] = "#)
        for match in source.matches(of: constantRegex) {
            let name = String(source[match.range].split(separator: " ")[2].dropLast())
            constants[name] = namesInBracket(startingAt: match.range.upperBound).names
        }
        var table: [[String]: [String]] = [:]
        let keyRegex = try! Regex(#"\n\s+\[((?:\"[a-z-]+\",?\s*)+)\]: "#)
        for match in source.matches(of: keyRegex) {
            let keyText = source[match.range]
            let path = keyText.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            var rest = source[match.range.upperBound...]
            var options: [String] = []
            while let constant = constants.keys.first(where: { rest.hasPrefix($0 + " + ") }) {
                options += constants[constant] ?? []
                rest = rest.dropFirst(constant.count + 3)
            }
            options += namesInBracket(startingAt: rest.startIndex).names
            table[path] = options
        }
        return table
    }
}

@Suite(.serialized) struct CommandLineContractTests {
    @Test func environmentTableMatchesEachSubcommandsFlags() async throws {
        let table = try CommandLineContract.environmentTable()
        for path in CommandLineContract.subcommands where table[path] != nil {
            let flags = try await CommandLineContract.flags(of: path)
            let names = Set(table[path] ?? [])
            #expect(names.subtracting(flags).sorted() == [], "EnvironmentOptions has options \(path) does not accept")
            #expect(flags.subtracting(names).sorted() == [], "flags of \(path) without a JUNE_RELAY_* variable")
        }
        #expect(table[["run"]]?.contains("brokers") == true)
        #expect(table[["dlq", "redrive"]]?.contains("from") == true)
    }

    @Test func specFlagsExist() async throws {
        // Spec §7 names (a contract).
        let expected: [[String]: Set<String>] = [
            ["run"]: ["brokers", "topic", "group", "dlq-topic", "june-url", "max-in-flight", "drain-timeout", "kafka-config",
                      "metrics-port", "log-level", "log-format", "write-key-file"],
            ["offsets", "show"]: ["brokers", "group", "topic"],
            ["offsets", "reset"]: ["brokers", "group", "topic", "partition", "to-earliest", "to-latest", "to-offset", "to-datetime", "dry-run"],
            ["dlq", "redrive"]: ["brokers", "from", "to", "limit"],
            ["june-stub"]: ["port", "latency-ms", "fail-rate", "throttle-rate"],
        ]
        for (path, names) in expected {
            let flags = try await CommandLineContract.flags(of: path)
            #expect(names.subtracting(flags).sorted() == [], "\(path)")
        }
    }

    /// Usage errors are found before any connection (exit code 64, EX_USAGE) with a message that says why.
    @Test(arguments: [
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
        let invocations = try Self.invocations()
        #expect(invocations.count >= 5)
        for (location, arguments) in invocations {
            let path = Array(arguments.prefix { !$0.hasPrefix("-") }.prefix(2))
            let command = CommandLineContract.subcommands.first { path.starts(with: $0) }
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
