import NIOCore
import Synchronization
import TokenCore
import TokenStore

/// An embedded store with hooks for tests; everything else goes straight to the embedded store.
/// - Reads of the revocation log fail while `failingReads` is above zero (each failure counts it
///   down and is reported on `failures`).
/// - The events its revocation reads returned (of the log and of the state) are counted (`eventsRead`).
final class HookedStore: TokenStore {
    let base: EmbeddedTokenStore
    let failingReads = Atomic<Int>(0)
    let failures: AsyncStream<Void>
    private let reportFailure: AsyncStream<Void>.Continuation
    let eventsRead = Atomic<Int>(0)

    init(base: EmbeddedTokenStore) {
        self.base = base
        (failures, reportFailure) = AsyncStream.makeStream()
    }

    var kind: String { base.kind }

    func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        let (remaining, _) = failingReads.wrappingSubtract(1, ordering: .relaxed)
        if remaining > 0 {
            reportFailure.yield()
            throw .unavailable("injected read failure")
        }
        failingReads.store(0, ordering: .relaxed)
        let page = try await base.revocationEvents(after: seq, limit: limit)
        eventsRead.add(page.events.count, ordering: .relaxed)
        return page
    }

    func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead {
        try await base.revocationLogHead()
    }

    func startRevocationLogEpoch(replacing epoch: UInt64) async throws(TokenStoreError) -> UInt64 {
        try await base.startRevocationLogEpoch(replacing: epoch)
    }

    func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing {
        try await base.loadSigningKeys()
    }

    func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent] {
        try await base.saveSigningKeys(keys, logging: change)
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
        let snapshot = try await base.activeRevocations(now: now)
        eventsRead.add(snapshot.events.count, ordering: .relaxed)
        return snapshot
    }

    func purgeExpired(now: Int64) async throws(TokenStoreError) {
        try await base.purgeExpired(now: now)
    }

    func close() async {
        await base.close()
    }
}
