import NIOCore
import Synchronization
import TokenCore
import TokenStore

/// An embedded store with two hooks for tests; everything else goes straight to the embedded store.
/// - Reads of the revocation log fail while `failingReads` is above zero (each failure counts it
///   down and is reported on `failures`).
/// - Snapshot reads (`activeRevocations`) are counted, and wait while `holdsSnapshots` until
///   `releaseSnapshots()`.
final class HookedStore: TokenStore {
    let base: EmbeddedTokenStore
    let failingReads = Atomic<Int>(0)
    let failures: AsyncStream<Void>
    private let reportFailure: AsyncStream<Void>.Continuation
    let snapshotReads = Atomic<Int>(0)
    let snapshotsStarted: AsyncStream<Void>
    private let reportSnapshotStarted: AsyncStream<Void>.Continuation
    private let snapshotGate = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(base: EmbeddedTokenStore) {
        self.base = base
        (failures, reportFailure) = AsyncStream.makeStream()
        (snapshotsStarted, reportSnapshotStarted) = AsyncStream.makeStream()
    }

    /// Makes snapshot reads wait until `releaseSnapshots()`.
    func holdSnapshots() {
        snapshotGate.withLock { $0.held = true }
    }

    /// Lets every waiting and future snapshot read go on.
    func releaseSnapshots() {
        let waiters = snapshotGate.withLock { gate in
            gate.held = false
            defer { gate.waiters = [] }
            return gate.waiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }

    var kind: String { base.kind }

    func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        let (remaining, _) = failingReads.wrappingSubtract(1, ordering: .relaxed)
        if remaining > 0 {
            reportFailure.yield()
            throw .unavailable("injected read failure")
        }
        failingReads.store(0, ordering: .relaxed)
        return try await base.revocationEvents(after: seq, limit: limit)
    }

    func loadSigningKeys() async throws(TokenStoreError) -> [StoredSigningKey] {
        try await base.loadSigningKeys()
    }

    func saveSigningKeys(_ keys: [StoredSigningKey]) async throws(TokenStoreError) {
        try await base.saveSigningKeys(keys)
    }

    func createSession(_ session: SessionRecord, refreshToken: RefreshTokenRecord?) async throws(TokenStoreError) {
        try await base.createSession(session, refreshToken: refreshToken)
    }

    func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?,
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, TokenStoreError>) -> Void
    ) {
        base.createSession(session, refreshToken: refreshToken, on: eventLoop, completion: completion)
    }

    func session(id: String) async throws(TokenStoreError) -> SessionRecord? {
        try await base.session(id: id)
    }

    func liveSessions(subject: String, now: Int64, limit: Int) async throws(TokenStoreError) -> [SessionRecord] {
        try await base.liveSessions(subject: subject, now: now, limit: limit)
    }

    func refreshToken(hash: [UInt8], sessionID: String) async throws(TokenStoreError) -> RefreshTokenRecord? {
        try await base.refreshToken(hash: hash, sessionID: sessionID)
    }

    func spendRefreshToken(hash: [UInt8], rotation: RefreshRotation) async throws(TokenStoreError) -> Bool {
        try await base.spendRefreshToken(hash: hash, rotation: rotation)
    }

    func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        try await base.revoke(revocation)
    }

    func activeRevocations(now: Int64) async throws(TokenStoreError) -> RevocationSnapshot {
        snapshotReads.add(1, ordering: .relaxed)
        reportSnapshotStarted.yield()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let held = snapshotGate.withLock { gate in
                if gate.held {
                    gate.waiters.append(continuation)
                }
                return gate.held
            }
            if !held {
                continuation.resume()
            }
        }
        return try await base.activeRevocations(now: now)
    }

    func purgeExpired(now: Int64) async throws(TokenStoreError) {
        try await base.purgeExpired(now: now)
    }

    func close() async {
        await base.close()
    }
}
