import Dispatch
import Synchronization

/// The hand-over point between async callers and one worker thread: callers queue jobs without
/// blocking, the worker blocks until there is work and takes everything pending at once.
final class JobQueue<Job: Sendable>: Sendable {
    private struct State {
        var pending: [Job] = []
        var closed = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    /// Queues `job` for the worker.
    /// - Returns: false when the queue is closed (the job was not queued).
    func enqueue(_ job: Job) -> Bool {
        let accepted = state.withLock { state in
            guard !state.closed else { return false }
            state.pending.append(job)
            return true
        }
        if accepted {
            wakeup.signal()
        }
        return accepted
    }

    /// Blocks the calling (worker) thread until jobs are queued, then takes all of them.
    /// - Returns: nil once the queue is closed and every job was taken.
    func takeAll() -> [Job]? {
        while true {
            let (jobs, closed) = state.withLock { state in
                defer { state.pending = [] }
                return (state.pending, state.closed)
            }
            if !jobs.isEmpty {
                return jobs
            }
            if closed {
                return nil
            }
            wakeup.wait()
        }
    }

    /// Refuses new jobs; the worker still gets those already queued.
    func close() {
        state.withLock { $0.closed = true }
        wakeup.signal()
    }

    /// Called by the worker as its last act: wakes everyone in `waitUntilExited`.
    func markExited() {
        let waiters = state.withLock { state in
            state.closed = true
            state.exited = true
            defer { state.exitWaiters = [] }
            return state.exitWaiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    /// Returns once the worker called `markExited`.
    func waitUntilExited() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state in
                if !state.exited {
                    state.exitWaiters.append(continuation)
                }
                return state.exited
            }
            if exited {
                continuation.resume()
            }
        }
    }
}
