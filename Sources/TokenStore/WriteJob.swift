/// Writes handed to the writer thread as one unit. The writer runs them in the batch transaction
/// (each in its own savepoint when a write of the batch failed), then answers them all once the batch
/// committed (or not).
protocol WriteJob: Sendable {
    /// How many writes the job holds.
    var count: Int { get }

    /// Runs write `index` (in order, each once).
    /// - Returns: false when it failed; the writer then rolls back its changes.
    func perform(_ index: Int, on database: SQLiteConnection) -> Bool

    /// Forgets the results of `perform` calls: the batch was rolled back and runs again.
    func discardResults()

    /// Answers the caller. `batchError` is set when the batch did not commit: nothing was stored.
    func finish(on database: SQLiteConnection, batchError: TokenStoreError?)
}
