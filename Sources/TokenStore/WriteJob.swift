import NIOCore

/// One write handed to the writer thread. The writer runs it in the batch transaction (in its own
/// savepoint when a write of the batch failed), then answers it once the batch committed (or not).
protocol WriteJob: Sendable {
    /// The event loop the answer is delivered on; nil to answer on the writer thread.
    var eventLoop: (any EventLoop)? { get }

    /// Runs the write (once per attempt at the batch).
    /// - Returns: false when it failed; the writer then rolls back its changes.
    func perform(on database: SQLiteConnection) -> Bool

    /// Forgets the result of `perform`: the batch was rolled back and runs again.
    func discardResult()

    /// Runs on the writer thread once the batch committed, before the answer is delivered.
    func committed(on database: SQLiteConnection)

    /// Answers the caller, on `eventLoop` (or the writer thread). `batchError` is set when the batch
    /// did not commit: nothing was stored.
    func deliver(batchError: TokenStoreError?)
}
