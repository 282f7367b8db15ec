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

    /// Starts a thread running `body`; `name` identifies it in errors.
    /// - Throws: `unavailable` when the system refuses to create a thread.
    init(name: String, body: @escaping @Sendable () -> Void) throws(TokenStoreError) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
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
