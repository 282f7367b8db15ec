/// Writes handed to the writer thread as one unit. The writer runs each of them in its own
/// savepoint of the batch transaction, then answers them all once the batch committed (or not).
protocol WriteJob: Sendable {
    /// How many writes the job holds.
    var count: Int { get }

    /// Runs write `index` (in order, each once).
    /// - Returns: false when it failed; the writer then rolls back its savepoint.
    func perform(_ index: Int, on database: SQLiteConnection) -> Bool

    /// Answers the caller. `batchError` is set when the batch did not commit: nothing was stored.
    func finish(on database: SQLiteConnection, batchError: TokenStoreError?)
}
