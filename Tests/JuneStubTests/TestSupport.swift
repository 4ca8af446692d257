import Logging
import TestSupport

/// The logger of these tests (``TestLogging``: quiet unless `TEST_LOG_LEVEL` says otherwise).
let quietLogger = TestLogging.logger("june-stub-tests")
