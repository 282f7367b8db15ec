import NIOCore

/// Runs a task's jobs on one event loop. The listener gives each connection's task its connection's
/// loop, and servers give their call handlers the same: a handler that waits (for a durable write)
/// resumes there, so the answers of calls resumed together are written in the same loop tick and
/// leave in one flush, with no hop through another thread pool.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop the jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor for `eventLoop`.
    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
