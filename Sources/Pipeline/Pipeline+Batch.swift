import JuneClient
import JuneTransform
import Kafka

// MARK: - Pipeline + batch delivery

extension Pipeline {
    /// MERGE: replaced by the batcher.
    func takeBatchJob(_ state: inout PipelineState) -> PipelineJob? {
        state.lanes.takeRun(maxRecords: 1).map { run in
            if case .failure = run[0].request { return .invalid(run[0]) }
            return .deliver(run[0])
        }
    }

    func deliverBatch(_ records: [RelayRecord]) async -> [RelayRecord] { records }
}
