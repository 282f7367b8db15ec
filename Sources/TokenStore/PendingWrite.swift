import NIOCore
import Synchronization

/// One caller's write waiting for the writer thread, and how its result gets back to the caller.
final class PendingWrite<Value: Sendable>: WriteJob {
    /// The write: runs on the writer thread inside the batch transaction.
    typealias Body = @Sendable (SQLiteConnection) throws(TokenStoreError) -> Value

    private let body: Body
    let eventLoop: (any EventLoop)?
    private let afterCommit: (@Sendable (SQLiteConnection) -> Void)?
    private let result = Mutex<Result<Value, TokenStoreError>?>(nil)
    private let complete: @Sendable (Result<Value, TokenStoreError>) -> Void

    /// - Parameters:
    ///   - eventLoop: where `complete` runs; nil for the writer thread.
    ///   - afterCommit: runs on the writer thread after a successful commit, before `complete`.
    ///   - complete: gets the write's result, once, on `eventLoop` or the writer thread (or on the
    ///     caller's when the job is rejected).
    init(
        body: @escaping Body,
        eventLoop: (any EventLoop)?,
        afterCommit: (@Sendable (SQLiteConnection) -> Void)?,
        complete: @escaping @Sendable (Result<Value, TokenStoreError>) -> Void
    ) {
        self.body = body
        self.eventLoop = eventLoop
        self.afterCommit = afterCommit
        self.complete = complete
    }

    func perform(on database: SQLiteConnection) -> Bool {
        let outcome: Result<Value, TokenStoreError>
        do {
            outcome = .success(try body(database))
        } catch {
            outcome = .failure(error)
        }
        result.withLock { $0 = outcome }
        if case .failure = outcome {
            return false
        }
        return true
    }

    func discardResult() {
        result.withLock { $0 = nil }
    }

    func committed(on database: SQLiteConnection) {
        afterCommit?(database)
    }

    func deliver(batchError: TokenStoreError?) {
        if let batchError {
            complete(.failure(batchError))
            return
        }
        complete(result.withLock { $0 } ?? .failure(.unavailable("a write got no answer")))
    }

    /// Answers a job that never reached the writer.
    func reject(_ error: TokenStoreError) {
        complete(.failure(error))
    }
}
