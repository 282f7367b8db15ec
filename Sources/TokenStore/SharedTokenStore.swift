/// A store that several `tokend` instances share (the Redis store): besides the store protocol, it
/// tells each instance what the others changed, keeps key rotations to one instance at a time,
/// and says whether its storage is reachable.
public protocol SharedTokenStore: TokenStore {
    /// Runs until cancelled: calls `round` with a reader of the log on a connection of its own (the
    /// round reads the log and returns its head's seq), then waits on that connection until an
    /// event past that seq is stored or half a second passes, and calls it again. While the storage
    /// cannot be reached the rounds fail (nil) and are retried after a short pause; the store
    /// reconnects on its own.
    /// - Parameter round: the caller's reading of the log; the next round begins once it returns.
    func followRevocations(_ round: @escaping @Sendable (any RevocationLogReader) async -> UInt64?) async

    /// Runs `body` holding the lock that keeps key ring changes to one instance at a time.
    /// - Parameter body: reads the stored ring and saves the changed one.
    /// - Returns: `body`'s result, or nil when another instance holds the lock.
    /// - Throws: `unavailable` when the lock cannot be taken for lack of storage, or what `body` throws.
    func withKeyRingLock<Value: Sendable>(
        _ body: @Sendable () async throws -> Value
    ) async throws -> Value?

    /// False while the storage cannot be reached (writes then fail with `unavailable`).
    var isReachable: Bool { get }
}
