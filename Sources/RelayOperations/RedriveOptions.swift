/// What `dlq redrive` does.
public struct RedriveOptions: Sendable {
    /// The dead-letter topic to read (`--from`).
    public var from: String
    /// The topic to write the records back to (`--to`).
    public var to: String
    /// Redrive at most this many records (`--limit`); `nil` for all. Default: `nil`.
    public var limit: Int?
    /// The consumer group that records progress, so that a rerun does not redrive a record twice.
    /// Default: ``defaultGroup(from:)``, `june-relay-redrive-<from>`.
    public var group: String
    /// For each Kafka request and for joining the progress group. Default: 30 seconds.
    public var timeout: Duration = .seconds(30)
    /// Stop (with an error naming what is left) when no record arrives for this long although the end
    /// offsets seen at start are not reached yet. Default: 15 seconds.
    public var idleTimeout: Duration = .seconds(15)
    /// Records produced concurrently (different keys in parallel, one key in order) before progress is
    /// committed. Default: 500.
    public var batchSize: Int = 500

    public init(from: String, to: String, limit: Int? = nil, group: String? = nil) {
        self.from = from
        self.to = to
        self.limit = limit
        self.group = group ?? Self.defaultGroup(from: from)
    }

    /// `june-relay-redrive-<from>`: one progress group per dead-letter topic.
    public static func defaultGroup(from: String) -> String {
        "june-relay-redrive-\(from)"
    }
}

/// What `dlq redrive` did.
public struct RedriveReport: Sendable, Equatable {
    /// Records written to the target topic and acknowledged (`acks=all`) in this run.
    public var moved: Int
    /// Records that were in the dead-letter topic when the run started and are still not redriven
    /// (because of `--limit`); a rerun continues with them.
    public var remaining: Int
    /// Moved records per source partition.
    public var movedByPartition: [Int32: Int]

    public init(moved: Int, remaining: Int, movedByPartition: [Int32: Int] = [:]) {
        self.moved = moved
        self.remaining = remaining
        self.movedByPartition = movedByPartition
    }

    /// `moved 12 records from events.dlq to events` plus `, 30 left` when some are left.
    public func summary(from: String, to: String) -> String {
        var text = "moved \(moved) record\(moved == 1 ? "" : "s") from \(from) to \(to)"
        if remaining > 0 { text += " (\(remaining) left; run again to continue)" }
        return text
    }
}
