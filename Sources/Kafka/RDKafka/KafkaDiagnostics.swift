import CLibrdKafka

/// Process-wide librdkafka checks, for tests and leak checks.
public enum KafkaDiagnostics {
    /// Waits up to `timeout` until every librdkafka client handle in the process was destroyed
    /// (`rd_kafka_wait_destroyed`). Returns `false` if some handle is still alive: a consumer, producer,
    /// admin or mock cluster that was never released.
    public static func waitForAllClientsDestroyed(timeout: Duration) -> Bool {
        rd_kafka_wait_destroyed(timeout.clampedMilliseconds) == 0
    }
}
