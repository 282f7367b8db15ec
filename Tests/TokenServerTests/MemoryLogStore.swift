import NIOCore
import Synchronization
import TokenCore
import TokenStore

/// A shared store that keeps only a revocation log, in memory, for the hub's tests of epochs: a test
/// can make it lose its newest writes, as a Redis restarted from an older snapshot does. Sessions and
/// keys are not part of those tests: those methods answer `unavailable`.
final class MemoryLogStore: SharedTokenStore {
    private struct Log {
        var epoch: UInt64 = 0
        var seq: UInt64 = 0
        var events: [RevocationEvent] = []
    }

    private let log = Mutex(Log())
    let kind = "memory"
    var isReachable: Bool { true }

    /// The log's events, oldest first.
    var events: [RevocationEvent] {
        log.withLock { $0.events }
    }

    /// Forgets every event after `seq` and sets the counter back to it.
    func loseWrites(after seq: UInt64) {
        log.withLock { log in
            log.events.removeAll { $0.seq > seq }
            log.seq = seq
        }
    }

    func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        let event = log.withLock { log in
            log.seq += 1
            let event = RevocationEvent(
                seq: log.seq, kind: revocation.kind, value: revocation.value, revokedAt: revocation.revokedAt,
                expiresAt: revocation.expiresAt)
            log.events.append(event)
            return event
        }
        return RevocationReceipt(event: event, sessionsRevoked: 0)
    }

    func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        log.withLock { log in
            RevocationEventPage(
                events: Array(log.events.filter { $0.seq > seq }.prefix(limit)), isComplete: true, epoch: log.epoch)
        }
    }

    func activeRevocations(now: Int64) async throws(TokenStoreError) -> RevocationSnapshot {
        log.withLock { log in
            RevocationSnapshot(events: log.events.filter { $0.expiresAt >= now }, headSeq: log.seq, epoch: log.epoch)
        }
    }

    func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead {
        log.withLock { RevocationLogHead(epoch: $0.epoch, seq: $0.seq) }
    }

    func startRevocationLogEpoch(replacing epoch: UInt64) async throws(TokenStoreError) -> UInt64 {
        let fresh = try RevocationLogHead.randomEpoch()
        return log.withLock { log in
            if log.epoch == epoch {
                log.epoch = fresh
            }
            return log.epoch
        }
    }

    func followRevocations(_ round: @escaping @Sendable (any RevocationLogReader) async -> UInt64?) async {
        while !Task.isCancelled {
            _ = await round(self)
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func withKeyRingLock<Value: Sendable>(_ body: @Sendable () async throws -> Value) async throws -> Value? {
        try await body()
    }

    func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing {
        throw .unavailable("this store keeps revocations only")
    }

    func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent] {
        throw .unavailable("this store keeps revocations only")
    }

    func createSession(_ session: SessionRecord, refreshToken: RefreshTokenRecord?) async throws(TokenStoreError) {
        throw .unavailable("this store keeps revocations only")
    }

    func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?,
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, TokenStoreError>) -> Void
    ) {
        completion(.failure(.unavailable("this store keeps revocations only")))
    }

    func session(id: String) async throws(TokenStoreError) -> SessionRecord? {
        throw .unavailable("this store keeps revocations only")
    }

    func liveSessions(subject: String, now: Int64, limit: Int) async throws(TokenStoreError) -> [SessionRecord] {
        throw .unavailable("this store keeps revocations only")
    }

    func refreshToken(hash: [UInt8], sessionID: String) async throws(TokenStoreError) -> RefreshTokenRecord? {
        throw .unavailable("this store keeps revocations only")
    }

    func spendRefreshToken(hash: [UInt8], rotation: RefreshRotation) async throws(TokenStoreError) -> Bool {
        throw .unavailable("this store keeps revocations only")
    }

    func purgeExpired(now: Int64) async throws(TokenStoreError) {}

    func close() async {}
}
