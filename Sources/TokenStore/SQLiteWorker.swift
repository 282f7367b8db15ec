/// One SQLite connection driven by its own dedicated thread: the connection is opened, used and
/// closed on that thread only, and async callers reach it by queueing jobs.
final class SQLiteWorker<Job: Sendable>: Sendable {
    private let queue: JobQueue<Job>
    private let thread: WorkerThread

    /// Starts the thread, opens the database at `path` on it and runs `setup`; from then on the
    /// thread hands every batch of queued jobs to `process`, gathered as `gathering` says.
    /// - Throws: `unavailable` (or `corrupt`) when the database cannot be opened or set up.
    init(
        name: String,
        path: String,
        busyTimeoutMilliseconds: Int32,
        gathering: JobQueue<Job>.Gathering? = nil,
        setup: @escaping @Sendable (SQLiteConnection) throws(TokenStoreError) -> Void,
        process: @escaping @Sendable ([Job], SQLiteConnection) -> Void
    ) async throws(TokenStoreError) {
        let queue = JobQueue<Job>(gathering: gathering)
        let (opened, signalOpened) = AsyncStream<Result<Void, TokenStoreError>>.makeStream()
        let thread = try WorkerThread(name: name) {
            defer { queue.markExited() }
            let database: SQLiteConnection
            do throws(TokenStoreError) {
                database = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
                try setup(database)
            } catch {
                signalOpened.yield(.failure(error))
                signalOpened.finish()
                return
            }
            signalOpened.yield(.success(()))
            signalOpened.finish()
            while let jobs = queue.takeAll() {
                process(jobs, database)
            }
            database.close()
        }
        var results = opened.makeAsyncIterator()
        let result = await results.next() ?? .failure(.unavailable("the \(name) thread ended at start"))
        if case .failure(let error) = result {
            queue.close()
            await queue.waitUntilExited()
            thread.join()
            throw error
        }
        self.queue = queue
        self.thread = thread
    }

    deinit {
        // A store dropped without `close()`: let the thread drain its queue and end.
        queue.close()
    }

    /// Queues `job`.
    /// - Returns: false when the worker is closed.
    func submit(_ job: Job) -> Bool {
        queue.enqueue(job)
    }

    /// Queues `jobs` together, so that the worker takes them in one batch.
    /// - Returns: false when the worker is closed (none was queued).
    func submit(contentsOf jobs: [Job]) -> Bool {
        queue.enqueue(contentsOf: jobs)
    }

    /// Lets the worker finish every queued job, closes the connection and joins the thread.
    func close() async {
        queue.close()
        await queue.waitUntilExited()
        thread.join()
    }
}
