import Kafka
import Testing
import TestSupport

@Suite struct KafkaConsumerGroupTests {
    @Test func twoMembersSplitThePartitions() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: KafkaTestClient.logger)
        let topic = uniqueName("split")
        try cluster.createTopic(topic, partitions: 4)
        let group = uniqueName("g")
        let first = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        let second = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        try first.subscribe(topics: [topic])
        try second.subscribe(topics: [topic])

        let all = Set((0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) })
        let split = try await KafkaTestClient.poll([first, second]) {
            let a = Set(try first.assignment())
            let b = Set(try second.assignment())
            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == all
        }
        let firstAssignment = try first.assignment()
        let secondAssignment = try second.assignment()
        #expect(split, "first: \(firstAssignment), second: \(secondAssignment)")
        try await first.close()
        try await second.close()
        try await first.close()  // idempotent
    }

    @Test func newMemberResumesFromTheCommittedOffset() async throws {
        let (cluster, tp) = try await KafkaFixture.clusterWithRecords("commit", count: 10)
        let topic = tp.topic
        let group = uniqueName("g")

        let first = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        try first.subscribe(topics: [topic])
        let read = try await KafkaTestClient.poll(first, count: 10)
        #expect(read.count == 10)
        try await first.commit([tp: 6])  // records 0...5 done
        #expect(try await first.committed([tp], timeout: .seconds(5)) == [tp: 6])
        try await first.close()
        await #expect(throws: KafkaError.self) { _ = try await first.poll(maxMessages: 1, timeout: .zero) }

        let second = try KafkaConsumer(configuration: cluster.testClient.consumerConfiguration(group: group), logger: KafkaTestClient.logger)
        try second.subscribe(topics: [topic])
        let resumed = try await KafkaTestClient.poll(second, count: 4)
        #expect(resumed.map(\.offset) == [6, 7, 8, 9])
        try await second.close()

        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestClient.logger)
        #expect(try await admin.committedOffsets(group: group, partitions: [tp], timeout: .seconds(5)) == [tp: 6])
        let unknownGroup = uniqueName("none")
        #expect(try await admin.committedOffsets(group: unknownGroup, partitions: [tp], timeout: .seconds(5)).isEmpty)
    }

    /// A commit to a coordinator that is down times out on our side, but librdkafka keeps it and may
    /// make it once the broker is back, after a newer commit (then the group's offset goes down again).
    /// Re-committing the newest offset until ``KafkaConsumer/lateCommitWindow`` has passed since the
    /// last timed-out attempt, as the relay does, leaves the newest offset in place.
    @Test func commitToAnUnreachableCoordinatorTimesOutThenSucceedsOnceBack() async throws {
        let (cluster, tp) = try await KafkaFixture.clusterWithRecords("down", count: 3)
        let topic = tp.topic
        var configuration = cluster.testClient.consumerConfiguration(group: uniqueName("g"))
        // A 36 s window (6 s session + 3 × 10 s) instead of 3 minutes. Not shorter: the mock broker stops
        // reading a connection while it holds a SyncGroup (up to the 6 s session), and a request timing out
        // behind it makes librdkafka reconnect and resend the SyncGroup, which trips an assertion in the
        // mock (`rd_kafka_mock_cgrp_member_sync_set: !member->resp`) and aborts the test process.
        configuration.additionalProperties["socket.timeout.ms"] = "10000"
        let consumer = try KafkaConsumer(configuration: configuration, logger: KafkaTestClient.logger)
        #expect(consumer.lateCommitWindow == .seconds(36))
        try consumer.subscribe(topics: [topic])
        #expect(try await KafkaTestClient.poll(consumer, count: 3).count == 3)

        // librdkafka's own synchronous commit would wait here forever.
        try cluster.setBrokerDown(1)
        let started = ContinuousClock.now
        var lastTimeout = started
        let error = await #expect(throws: KafkaError.self) { try await consumer.commit([tp: 2], timeout: .seconds(1)) }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(error?.isRetriable == true, "\(String(describing: error))")

        try cluster.setBrokerUp(1)
        var committed = false
        var errors: [String] = []
        // The member's session ran out while the broker was down: it rejoins as a new member, and the
        // mock broker holds that rebalance until the old member's session expires too. Alone this takes
        // 5-25 s; beside other tests on two cores it has taken over 30 s.
        let deadline = ContinuousClock.now + .seconds(60)
        while !committed, ContinuousClock.now < deadline {
            do {
                try await consumer.commit([tp: 3], timeout: .seconds(2))
                committed = true
            } catch {
                errors.append("\(ContinuousClock.now - started): \(error)")
                if error.code == KafkaError.Code.timedOut { lastTimeout = .now }
                // A commit that met the group's rebalance (the member may have been dropped while the broker
                // was down) starts a rejoin; committing again before it finished would queue behind the
                // JoinGroup and meet the next generation (librdkafka issue #4059). Like the relay, let the
                // group settle first, polling so the rejoin can complete.
                let settle: Duration = error.isGroupRebalancing ? .seconds(5) : .milliseconds(200)
                let until = ContinuousClock.now + settle
                repeat {
                    _ = try? await consumer.poll(maxMessages: 1, timeout: .milliseconds(200))
                } while ContinuousClock.now < until
            }
        }
        #expect(committed, "commits after the broker came back: \(errors)")
        while ContinuousClock.now < lastTimeout + consumer.lateCommitWindow {
            _ = try? await consumer.poll(maxMessages: 1, timeout: .seconds(1))
            try? await consumer.commit([tp: 3], timeout: .seconds(2))
        }
        try await consumer.commit([tp: 3], timeout: .seconds(5))
        #expect(try await consumer.committed([tp], timeout: .seconds(5)) == [tp: 3], "commits after the broker came back: \(errors)")
        try await consumer.close()
    }

    /// librdkafka 2.0.2 aborts the process (`rd_kafka_sticky_assignor_state_destroy: Assertion
    /// 'assignor_state' failed`, librdkafka issue #4312) when a cooperative-sticky consumer that has its
    /// JoinGroup answer but no assignment yet is destroyed: a relay or `offsets reset` stopped while
    /// joining a busy group. Here every SyncGroup fails, so the member stays between join and assignment;
    /// closing and releasing it must not abort.
    @Test func aMemberReleasedBetweenJoinAndItsFirstAssignmentDoesNotAbort() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("joining")
        try cluster.createTopic(topic, partitions: 2)
        cluster.pushRequestErrors(
            apiKey: KafkaMockCluster.APIKey.syncGroup, errors: Array(repeating: KafkaError.Code.rebalanceInProgress, count: 200))
        var consumer: KafkaConsumer? = try cluster.testClient.member(group: uniqueName("g"))
        try consumer?.subscribe(topics: [topic])
        // The mock answers a group's first JoinGroup after 3 s; then each SyncGroup fails and the member rejoins.
        let until = ContinuousClock.now + .seconds(6)
        while ContinuousClock.now < until {
            _ = try await consumer?.poll(maxMessages: 10, timeout: .milliseconds(100))
        }
        #expect(try consumer?.assignment().isEmpty == true, "no assignment while SyncGroup fails")
        try await consumer?.close()
        consumer = nil  // rd_kafka_destroy: the abort happened here
        cluster.clearRequestErrors(apiKey: KafkaMockCluster.APIKey.syncGroup)
    }

    @Test func pausedPartitionYieldsNothingUntilResumed() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("pause")
        try cluster.createTopic(topic, partitions: 2)
        let producer = try cluster.testClient.producer()
        func produce(_ partition: Int32) async throws {
            for index in 0..<5 {
                _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: partition, value: bytes("\(index)")))
            }
        }
        try await produce(0)
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let p1 = KafkaTopicPartition(topic: topic, partition: 1)

        // Paused inside the assign callback. librdkafka applies a pause asynchronously, and on a starved
        // machine the fetch of a partition that already holds records can start before it; so p1's
        // records are written only once the member is assigned and reading p0.
        let handler = RecordingRebalanceHandler(pauseOnAssign: [p1])
        let consumer = try KafkaConsumer(
            configuration: cluster.testClient.consumerConfiguration(group: uniqueName("g")),
            logger: KafkaTestClient.logger,
            rebalanceHandler: handler
        )
        try consumer.subscribe(topics: [topic])
        var messages = try await KafkaTestClient.poll(consumer, count: 5)
        try await produce(1)
        await producer.close()
        // Give p1 a chance to show up if pause did not work.
        messages += try await KafkaTestClient.poll(consumer, count: 1, within: .seconds(2))
        #expect(messages.count == 5)
        #expect(messages.allSatisfy { $0.topicPartition == p0 })

        try consumer.resume([p1])
        let resumed = try await KafkaTestClient.poll(consumer, count: 5)
        #expect(resumed.count == 5)
        #expect(resumed.allSatisfy { $0.topicPartition == p1 })
        #expect(resumed.map(\.offset) == [0, 1, 2, 3, 4])
        try await consumer.close()
    }

    @Test func rebalanceHandlerSeesCooperativeAssignAndRevoke() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: KafkaTestClient.logger)
        let topic = uniqueName("rebalance")
        try cluster.createTopic(topic, partitions: 4)
        let group = uniqueName("g")
        let all = (0..<4).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
        let producer = try cluster.testClient.producer()
        for partition in Int32(0)..<4 {
            for _ in 0..<3 { _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: partition, value: [1])) }
        }
        await producer.close()
        // Both commit from inside the revoke callback: the first 1, the second 2.
        let firstHandler = RecordingRebalanceHandler(commitOnRevoke: 1)
        let secondHandler = RecordingRebalanceHandler(commitOnRevoke: 2)
        let first = try KafkaConsumer(
            configuration: cluster.testClient.consumerConfiguration(group: group),
            logger: KafkaTestClient.logger,
            rebalanceHandler: firstHandler
        )
        try first.subscribe(topics: [topic])
        #expect(try await KafkaTestClient.poll([first]) { try first.assignment() == all })
        #expect(firstHandler.events == [.assigned(all)])

        let second = try KafkaConsumer(
            configuration: cluster.testClient.consumerConfiguration(group: group),
            logger: KafkaTestClient.logger,
            rebalanceHandler: secondHandler
        )
        try second.subscribe(topics: [topic])
        let rebalanced = try await KafkaTestClient.poll([first, second]) {
            let secondHas = try second.assignment()
            let firstHas = try first.assignment()
            return !secondHas.isEmpty && firstHas.count < 4
        }
        #expect(rebalanced)
        // Cooperative: the first member gives up only what moves, and is told before it loses it.
        let moved = firstHandler.revokedPartitions
        #expect(!moved.isEmpty)
        #expect(Set(moved) == Set(try second.assignment()))
        #expect(Set(try first.assignment()).union(moved) == Set(all))

        let secondAssigned = try second.assignment()
        try await second.close()
        #expect(secondHandler.events.last == .revoked(secondAssigned))
        #expect(try await KafkaTestClient.poll([first]) { try first.assignment() == all })
        try await first.close()
        #expect(firstHandler.events.last == .revoked(all))
        // A revoke's commit can meet the rebalance that revoked it (the mock broker refuses commits while
        // members sync; on a loaded machine the callbacks land in that window): such a failure is the
        // group rebalancing, never anything else, and the commit at close below must still land.
        let unexpected = (firstHandler.errors + secondHandler.errors).filter { !$0.isGroupRebalancing }
        #expect(unexpected.isEmpty, "revoke commits failed: \(firstHandler.errors), \(secondHandler.errors)")
        // The first member committed last (on close), for every partition.
        let admin = try KafkaAdmin(bootstrapServers: cluster.bootstrapServers, logger: KafkaTestClient.logger)
        let committed = try await admin.committedOffsets(group: group, partitions: all, timeout: .seconds(5))
        #expect(committed == Dictionary(uniqueKeysWithValues: all.map { ($0, Int64(1)) }))
    }

    @Test func rebalanceHandlerSeesEagerAssignAndRevoke() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestClient.logger)
        let topic = uniqueName("eager")
        try cluster.createTopic(topic, partitions: 2)
        let all = (0..<2).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
        let handler = RecordingRebalanceHandler(commitOnRevoke: 0)
        let consumer = try KafkaConsumer(
            configuration: cluster.testClient.consumerConfiguration(group: uniqueName("g"), strategy: "range"),
            logger: KafkaTestClient.logger,
            rebalanceHandler: handler
        )
        try consumer.subscribe(topics: [topic])
        #expect(try await KafkaTestClient.poll([consumer]) { try consumer.assignment() == all })
        try await consumer.close()
        #expect(handler.events == [.assigned(all), .revoked(all)])
        #expect(handler.errors.isEmpty, "\(handler.errors)")
    }
}
