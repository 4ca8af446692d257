import NIOCore

/// Runs Swift tasks on one NIO event loop. A task that sends June requests with this executor as its
/// preference runs where its connections live: the request is written without handing it to another
/// thread, and the answer resumes the task on the same loop instead of waking a thread of Swift's pool.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
