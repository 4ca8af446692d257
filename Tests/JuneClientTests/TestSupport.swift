import Logging

@testable import JuneStub

/// Reproducible jitter in tests: the stub's seeded SplitMix64 generator.
typealias SeededGenerator = JuneStubRandom

let quietLogger = Logger(label: "june-client-tests", factory: { _ in SwiftLogNoOpLogHandler() })
