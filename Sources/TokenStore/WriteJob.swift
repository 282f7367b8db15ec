import NIOCore

/// Writes handed to the writer thread as one unit. The writer runs them in the batch transaction
/// (each in its own savepoint when a write of the batch failed), then answers them all once the batch
/// committed (or not).
protocol WriteJob: Sendable {
    /// How many writes the job holds.
    var count: Int { get }

    /// The event loop the answer is delivered on; nil to answer on the writer thread.
    var eventLoop: (any EventLoop)? { get }

    /// Runs write `index` (in order, each once).
    /// - Returns: false when it failed; the writer then rolls back its changes.
    func perform(_ index: Int, on database: SQLiteConnection) -> Bool

    /// Forgets the results of `perform` calls: the batch was rolled back and runs again.
    func discardResults()

    /// Runs on the writer thread once the batch committed, before the answer is delivered.
    func committed(on database: SQLiteConnection)

    /// Answers the caller, on `eventLoop` (or the writer thread). `batchError` is set when the batch
    /// did not commit: nothing was stored.
    func deliver(batchError: TokenStoreError?)
}
