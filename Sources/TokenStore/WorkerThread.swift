import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated OS thread (not the Swift concurrency pool, not an event loop), so that blocking
/// SQLite calls and fsyncs never stall async code. The owner must `join()` it once its body returns.
final class WorkerThread: Sendable {
    private let thread: Mutex<pthread_t?>

    /// Starts a thread running `body`; `name` identifies it in errors, and in `top -H`, `ps -L`
    /// and profilers (its first 15 bytes, the system's limit).
    /// - Throws: `unavailable` when the system refuses to create a thread.
    init(name: String, body: @escaping @Sendable () -> Void) throws(TokenStoreError) {
        let threadName = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        let named = ThreadBody {
            Self.nameCurrentThread(threadName)
            body()
        }
        let context = Unmanaged.passRetained(named).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, context)
        guard code == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw .unavailable("cannot start the \(name) thread (error \(code))")
        }
        self.thread = Mutex(thread)
    }

    deinit {
        // A thread never joined is detached so that its resources are released when it ends.
        if let thread = thread.withLock({ $0.take() }) {
            pthread_detach(thread)
        }
    }

    /// Names the calling thread. Glibc's `pthread_setname_np` is not visible to Swift, so on Linux
    /// this writes the thread's `comm` file, which is what that call does.
    private static func nameCurrentThread(_ name: String) {
        #if canImport(Glibc)
        let file = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard file >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { write(file, $0.baseAddress, $0.count - 1) }
        close(file)
        #elseif canImport(Darwin)
        _ = pthread_setname_np(name)
        #endif
    }

    /// Whether the calling thread, when it wakes up, may take a core from the thread running there
    /// (the default) or waits for it to reach the end of its time slice or block (Linux's
    /// `SCHED_BATCH`). Elsewhere it does nothing.
    static func preemptsOnWakeup(_ preempts: Bool) {
        #if os(Linux)
        var parameters = sched_param()
        // SCHED_OTHER is 0 and SCHED_BATCH 3; Glibc declares the latter only for _GNU_SOURCE.
        _ = pthread_setschedparam(pthread_self(), preempts ? 0 : 3, &parameters)
        #endif
    }

    /// Waits for the body to return. Call it once the body is known to be finishing: it blocks.
    func join() {
        if let thread = thread.withLock({ $0.take() }) {
            pthread_join(thread, nil)
        }
    }
}

/// The closure a `WorkerThread` runs, boxed to pass through `pthread_create`'s context pointer.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) {
        self.run = run
    }
}
