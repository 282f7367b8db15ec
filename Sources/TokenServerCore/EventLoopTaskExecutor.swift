import NIOCore

/// Runs the jobs of a connection's handler tasks on the connection's event loop. A handler that
/// waits (for a durable write) resumes there, so the answers of calls resumed together are written
/// in the same loop tick and leave in one flush, with no hop through another thread pool.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
