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
        /// The worker sleeps until this many jobs are pending; `enqueue` wakes it once they are.
        var wakeAt = Int.max
        /// How many jobs the worker took last time.
        var lastBatch = 0
    }

    /// Group commit under load: after a batch of at least `busyBatch` jobs, the worker holds the
    /// next batch open for up to `window`, or until `jobs` jobs wait, before it takes it.
    struct Gathering {
        var window: Duration
        var jobs: Int
        var busyBatch: Int
    }

    private let gathering: Gathering?
    private let windowNanoseconds: Int

    /// - Parameter gathering: when and how long the worker gathers jobs; nil takes what is there.
    init(gathering: Gathering? = nil) {
        self.gathering = gathering
        let window = gathering?.window.components ?? (seconds: 0, attoseconds: 0)
        windowNanoseconds = Int(clamping: window.seconds * 1_000_000_000 + window.attoseconds / 1_000_000_000)
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    /// Queues `job` for the worker.
    /// - Returns: false when the queue is closed (the job was not queued).
    func enqueue(_ job: Job) -> Bool {
        enqueue { $0.append(job) }
    }

    /// Queues `jobs` at once: the worker takes all of them in the same batch.
    /// - Returns: false when the queue is closed (none was queued).
    func enqueue(contentsOf jobs: [Job]) -> Bool {
        enqueue { $0.append(contentsOf: jobs) }
    }

    private func enqueue(_ add: (inout [Job]) -> Void) -> Bool {
        let (accepted, wake) = state.withLock { state in
            guard !state.closed else { return (false, false) }
            add(&state.pending)
            guard state.pending.count >= state.wakeAt else { return (true, false) }
            state.wakeAt = .max
            return (true, true)
        }
        if wake {
            wakeup.signal()
        }
        return accepted
    }

    /// Blocks the calling (worker) thread until jobs are queued, then takes all of them; after a
    /// busy batch it first gathers more (see `Gathering`).
    /// - Returns: nil once the queue is closed and every job was taken.
    func takeAll() -> [Job]? {
        guard waitForPending(1, until: nil) else { return nil }
        let lastBatch = state.withLock { $0.lastBatch }
        if let gathering, lastBatch >= gathering.busyBatch {
            _ = waitForPending(gathering.jobs, until: .now() + .nanoseconds(windowNanoseconds))
        }
        // The queue's next array is sized here, on the worker's thread and outside the lock, for a
        // batch like the last one: callers then append without regrowing it under the lock.
        var taken: [Job] = []
        taken.reserveCapacity(lastBatch)
        state.withLock { state in
            swap(&state.pending, &taken)
            state.lastBatch = taken.count
        }
        return taken
    }

    /// Sleeps until `count` jobs are pending, the queue is closed, or `deadline` passes.
    /// - Returns: false when the queue is closed and empty; true otherwise, also at the deadline.
    private func waitForPending(_ count: Int, until deadline: DispatchTime?) -> Bool {
        while true {
            let (pending, closed) = state.withLock { state in
                let done = state.pending.count >= count || state.closed
                state.wakeAt = done ? .max : count
                return (state.pending.count, state.closed)
            }
            if pending >= count || (closed && pending > 0) {
                return true
            }
            if closed {
                return false
            }
            if let deadline {
                if wakeup.wait(timeout: deadline) == .timedOut {
                    state.withLock { $0.wakeAt = .max }
                    return true
                }
            } else {
                wakeup.wait()
            }
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
