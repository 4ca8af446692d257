@testable import Pipeline

extension RelayWork {
    /// A work object with the pipeline's defaults but the given slots and outage threshold, and a fixed
    /// concurrency limit (so slots count against `maxInFlight`), unless `configure` says otherwise.
    static func testing(
        maxInFlight: Int,
        outageThreshold: Int = 10,
        _ configure: (inout PipelineConfiguration) -> Void = { _ in }
    ) -> RelayWork {
        var configuration = PipelineConfiguration(topics: ["events"])
        configuration.maxInFlight = maxInFlight
        configuration.outageThreshold = outageThreshold
        configuration.concurrency = .fixed
        configure(&configuration)
        return RelayWork(configuration: configuration)
    }
}
