import Foundation

/// Spec §7: every flag `--some-flag` can also be set by `JUNE_RELAY_SOME_FLAG`. ArgumentParser reads
/// only the command line, so before parsing, environment values are appended as flags for the options
/// the chosen subcommand has and the command line does not already give. A flag on the command line
/// always wins.
enum EnvironmentOptions {
    enum Kind {
        /// `--flag VALUE`
        case single
        /// `--flag VALUE` repeated; the variable holds several values separated by newlines or `;`
        /// (`,` too for topics).
        case repeated(separators: Set<Character>)
        /// `--flag` when the variable is `1`, `true` or `yes`.
        case flag
    }

    /// The options of each subcommand path that the environment may set.
    static let options: [[String]: [(name: String, kind: Kind)]] = [
        ["run"]: [
            ("brokers", .single), ("topic", .repeated(separators: [",", ";", "\n"])), ("group", .single),
            ("dlq-topic", .single), ("june-url", .single), ("max-in-flight", .single),
            ("drain-timeout", .single), ("kafka-config", .repeated(separators: [";", "\n"])),
            ("metrics-port", .single), ("log-level", .single), ("log-format", .single),
            ("write-key-file", .single), ("retry-budget", .single), ("request-timeout", .single),
            ("max-event-bytes", .single), ("max-buffered", .single), ("commit-interval", .single),
        ],
        ["transform"]: [("write-key", .single), ("june-url", .single), ("max-event-bytes", .single)],
        ["dev-broker"]: [
            ("brokers", .single), ("partitions", .single), ("topic", .repeated(separators: [",", ";", "\n"])),
            ("bootstrap-file", .single), ("log-level", .single), ("log-format", .single),
        ],
        ["june-stub"]: [
            ("host", .single), ("port", .single), ("latency-ms", .single), ("fail-rate", .single), ("throttle-rate", .single),
            ("write-key", .single), ("log-level", .single), ("log-format", .single),
        ],
        ["demo"]: [("events", .single)],
        ["offsets", "show"]: kafkaTool + [("group", .single), ("topic", .single)],
        ["offsets", "reset"]: kafkaTool + [
            ("group", .single), ("topic", .single), ("partition", .single),
            ("to-earliest", .flag), ("to-latest", .flag), ("to-offset", .single), ("to-datetime", .single),
            ("dry-run", .flag),
        ],
        ["dlq", "redrive"]: kafkaTool + [("from", .single), ("to", .single), ("limit", .single)],
    ]

    /// `KafkaToolOptions`: shared by `offsets show|reset` and `dlq redrive`.
    private static let kafkaTool: [(name: String, kind: Kind)] = [
        ("brokers", .single), ("kafka-config", .repeated(separators: [";", "\n"])), ("timeout", .single),
        ("log-level", .single), ("log-format", .single),
    ]

    static func variableName(for option: String) -> String {
        "JUNE_RELAY_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// The arguments with environment-provided flags appended.
    static func apply(to arguments: [String], environment: [String: String]) -> [String] {
        let path = subcommandPath(of: arguments)
        guard let known = options[path] else { return arguments }
        var result = arguments
        for (name, kind) in known {
            let flag = "--" + name
            let given = arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") }
            guard !given, let value = environment[variableName(for: name)], !value.isEmpty else { continue }
            switch kind {
            case .single:
                result += [flag, value]
            case .repeated(let separators):
                for item in value.split(whereSeparator: { separators.contains($0) }) {
                    let trimmed = item.trimmingCharacters(in: .whitespaces)
                    if !trimmed.isEmpty { result += [flag, trimmed] }
                }
            case .flag:
                if ["1", "true", "yes"].contains(value.lowercased()) { result.append(flag) }
            }
        }
        return result
    }

    private static func subcommandPath(of arguments: [String]) -> [String] {
        let words = arguments.prefix { !$0.hasPrefix("-") }
        if words.count >= 2, options[Array(words.prefix(2))] != nil { return Array(words.prefix(2)) }
        return Array(words.prefix(1))
    }
}
