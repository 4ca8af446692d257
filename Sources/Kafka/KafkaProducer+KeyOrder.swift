extension KafkaProducer {
    /// Sends `records` so that the records of one lane are written one after the other, in the order
    /// given, and different lanes concurrently: each lane's next record is sent only once the previous
    /// one is acknowledged, so a retried write can never overtake it.
    ///
    /// After a record fails, the later records of its lane are not sent; they report the same error.
    ///
    /// - Parameter lane: the lane of the record at each index (usually its key).
    /// - Returns: per record, in the order given, `nil` when acknowledged, else the error.
    public func sendInLaneOrder<Lane: Hashable>(
        _ records: [KafkaProducerRecord],
        lane: (_ index: Int, _ record: KafkaProducerRecord) -> Lane
    ) async -> [KafkaError?] {
        var lanes: [Lane: [Int]] = [:]
        var laneOrder: [Lane] = []
        for (index, record) in records.enumerated() {
            let id = lane(index, record)
            if lanes[id] == nil { laneOrder.append(id) }
            lanes[id, default: []].append(index)
        }
        var results = [KafkaError?](repeating: nil, count: records.count)
        let laneResults = await withTaskGroup(of: [(Int, KafkaError?)].self) { group in
            for id in laneOrder {
                let indices = lanes[id] ?? []
                let laneRecords = indices.map { records[$0] }
                group.addTask {
                    var results: [(Int, KafkaError?)] = []
                    var failure: KafkaError?
                    for (index, record) in zip(indices, laneRecords) {
                        if let failure {
                            results.append((index, failure))
                            continue
                        }
                        do throws(KafkaError) {
                            _ = try await self.send(record)
                            results.append((index, nil))
                        } catch {
                            failure = error
                            results.append((index, error))
                        }
                    }
                    return results
                }
            }
            var all: [(Int, KafkaError?)] = []
            for await laneResult in group { all += laneResult }
            return all
        }
        for (index, error) in laneResults { results[index] = error }
        return results
    }

    /// Sends `records` with each key's records one after the other, in the order given (so per-key order
    /// holds), and different keys concurrently (records without a key form one lane).
    /// ``sendInLaneOrder(_:lane:)`` with the key as the lane.
    ///
    /// - Throws: the error of the first record (in the order given) that failed; every record that did
    ///   not fail was acknowledged.
    public func sendInKeyOrder(_ records: [KafkaProducerRecord]) async throws(KafkaError) {
        let results = await sendInLaneOrder(records) { _, record in record.key ?? [] }
        if let failure = results.lazy.compactMap({ $0 }).first { throw failure }
    }
}
