import Logging
import NIOCore
import NIOPosix
import Testing

@testable import JuneClient

@Suite struct EventLoopTaskExecutorTests {
    /// A task that prefers the executor runs on its event loop, also after it suspended, so a sender's
    /// request is written and answered there.
    @Test func aTaskPreferringItRunsOnItsEventLoop() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let other = MultiThreadedEventLoopGroup.singleton.next()
        let executor = EventLoopTaskExecutor(loop)
        let (before, afterSleep, afterFuture) = try await withTaskExecutorPreference(executor) {
            let before = loop.inEventLoop
            try await Task.sleep(for: .milliseconds(5))
            let afterSleep = loop.inEventLoop
            // A future completed on another loop resumes the task on its own loop.
            _ = try await other.submit { 1 }.get()
            return (before, afterSleep, loop.inEventLoop)
        }
        #expect(before, "starts on the loop")
        #expect(afterSleep, "resumes on the loop after a sleep")
        #expect(afterFuture, "resumes on the loop after another loop's future")
    }

    @Test func theHTTPClientOffersOneExecutorPerEventLoop() throws {
        let client = try JuneHTTPClient(
            configuration: JuneClientConfiguration(baseURL: "http://127.0.0.1:1", writeKey: "k", allowInsecureHTTP: true), logger: .init(label: "test"))
        defer { Task { try? await client.shutdown() } }
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let executors = client.senderExecutors.compactMap { $0 as? EventLoopTaskExecutor }
        #expect(executors.count == loops.count)
        #expect(Set(executors.map { ObjectIdentifier($0.eventLoop) }) == Set(loops.map { ObjectIdentifier($0) }))
    }
}
