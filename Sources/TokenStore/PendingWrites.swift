import NIOCore
import Synchronization

/// A caller's writes waiting for the writer thread, and how their results get back to the caller.
final class PendingWrites<Value: Sendable>: WriteJob {
    /// One write: runs on the writer thread inside the batch transaction.
    typealias Body = @Sendable (SQLiteConnection) throws(TokenStoreError) -> Value

    private let bodies: [Body]
    let eventLoop: (any EventLoop)?
    private let afterCommit: (@Sendable (SQLiteConnection) -> Void)?
    private let results = Mutex<[Result<Value, TokenStoreError>]>([])
    private let complete: @Sendable ([Result<Value, TokenStoreError>]) -> Void

    /// - Parameters:
    ///   - eventLoop: where `complete` runs; nil for the writer thread.
    ///   - afterCommit: runs on the writer thread after a successful commit, before `complete`.
    ///   - complete: gets each write's result, once, on `eventLoop` or the writer thread (or on the
    ///     caller's when the job is rejected).
    init(
        bodies: [Body],
        eventLoop: (any EventLoop)?,
        afterCommit: (@Sendable (SQLiteConnection) -> Void)?,
        complete: @escaping @Sendable ([Result<Value, TokenStoreError>]) -> Void
    ) {
        self.bodies = bodies
        self.eventLoop = eventLoop
        self.afterCommit = afterCommit
        self.complete = complete
    }

    var count: Int { bodies.count }

    func perform(_ index: Int, on database: SQLiteConnection) -> Bool {
        let result: Result<Value, TokenStoreError>
        do {
            result = .success(try bodies[index](database))
        } catch {
            result = .failure(error)
        }
        results.withLock { $0.append(result) }
        if case .failure = result {
            return false
        }
        return true
    }

    func discardResults() {
        results.withLock { $0.removeAll() }
    }

    func committed(on database: SQLiteConnection) {
        afterCommit?(database)
    }

    func deliver(batchError: TokenStoreError?) {
        if let batchError {
            complete(Array(repeating: .failure(batchError), count: bodies.count))
            return
        }
        complete(results.withLock { $0 })
    }

    /// Answers a job that never reached the writer.
    func reject(_ error: TokenStoreError) {
        complete(Array(repeating: .failure(error), count: bodies.count))
    }
}
