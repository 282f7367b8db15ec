/// A store that several `tokend` instances share (the Redis store): besides the store protocol, it
/// tells each instance what the others changed, keeps key rotations to one instance at a time,
/// and says whether its storage is reachable.
public protocol SharedTokenStore: TokenStore {
    /// Runs until cancelled: calls `revocationsStored` whenever any instance may have stored
    /// revocations since the previous call (and once after every reconnection, so nothing missed
    /// while the connection was down is left behind).
    /// - Parameter revocationsStored: the wake-up; the caller then reads `revocationEvents(after:)`.
    func followRevocations(_ revocationsStored: @escaping @Sendable () -> Void) async

    /// Runs `body` holding the lock that keeps key ring changes to one instance at a time.
    /// - Parameter body: reads the stored ring and saves the changed one.
    /// - Returns: `body`'s result, or nil when another instance holds the lock.
    /// - Throws: `unavailable` when the lock cannot be taken for lack of storage, or what `body` throws.
    func withKeyRingLock<Value: Sendable>(
        _ body: @Sendable () async throws -> Value
    ) async throws -> Value?

    /// False while the storage cannot be reached (writes then fail with `unavailable`).
    var isReachable: Bool { get }

    /// Whether `followRevocations` confirmed within `bound` that this instance has been told of
    /// every stored revocation: while it has not, the instance's revocations in memory may be
    /// missing some, and Validate answers `UNAVAILABLE` instead of guessing.
    /// - Parameter bound: how old the last confirmation may be.
    func followsRevocations(within bound: Duration) -> Bool
}
