import Logging
import TestSupport

@testable import JuneStub

/// Reproducible jitter in tests: the stub's seeded SplitMix64 generator.
typealias SeededGenerator = JuneStubRandom

/// The logger of these tests (``TestLogging``: quiet unless `TEST_LOG_LEVEL` says otherwise).
let quietLogger = TestLogging.logger("june-client-tests")
