import Logging

let quietLogger = Logger(label: "june-stub-tests", factory: { _ in SwiftLogNoOpLogHandler() })
