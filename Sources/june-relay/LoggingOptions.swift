import ArgumentParser
import Logging

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--log-level` and `--log-format`, shared by the long-running subcommands.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log format: text, or json for one JSON object per line.")
    var logFormat: LogFormat = .text

    /// Bootstraps swift-log once for the process (logs go to stderr) and returns the root logger.
    func bootstrap(label: String) -> Logger {
        Self.bootstrap(level: logLevel, format: logFormat, label: label)
    }

    static func bootstrap(level: Logger.Level, format: LogFormat, label: String) -> Logger {
        switch format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: label)
    }
}
