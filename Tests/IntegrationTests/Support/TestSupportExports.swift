// Every file of this target sees the shared test support (Harness, ChildProcess, KafkaTestClient, …)
// without importing it.
@_exported import TestSupport
