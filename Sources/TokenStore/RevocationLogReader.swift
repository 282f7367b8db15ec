/// Reads the revocation log: what every store does, and what a shared store's follower does on a
/// connection of its own.
public protocol RevocationLogReader: Sendable {
    /// The events after `seq` that the log still holds, oldest first, at most `limit` of them, and
    /// the log's epoch when they were read. The page says whether the log still holds every event
    /// after `seq`: expired events are purged.
    func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage

    /// The revocation log's epoch and its newest `seq`. Seqs count within an epoch: a log that went
    /// back (its store lost writes) gets a new epoch, so that no seq ever names two events.
    /// - Returns: the head; its epoch is 0 when the store has none yet (or lost it with its data).
    func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead
}
