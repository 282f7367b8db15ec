import NIOPosix
import Testing
import TokenCore
import TokenRedisStore
import TokenStore
import TokenTestSupport

/// Key ring changes are events of the revocation log, written with the ring in one atomic change.
@Suite("Stores: key ring changes in the revocation log")
struct KeyRingLogTests {
    static let ring = [StoreFixture.key("k1", byte: 1), StoreFixture.key("k2", byte: 2)]

    @Test(arguments: StoreKind.all)
    func aChangeLogsItsRevocationsThenItsRingWhichSupersedesTheLastOne(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        #expect(try await store.loadSigningKeys() == StoredKeyRing(keys: [], seq: 0))

        let first = try await store.saveSigningKeys(
            Self.ring, logging: KeyRingChange(publishedRing: "ring-1", changedAt: 1_000))
        #expect(first == [RevocationEvent(seq: 1, kind: .keyRing, value: "ring-1", revokedAt: 1_000, expiresAt: .max)])
        #expect(try await store.loadSigningKeys() == StoredKeyRing(keys: Self.ring, seq: 1))
        let token = try await store.revoke(
            RevocationRequest(kind: .token, value: "jti-1", revokedAt: 1_100, expiresAt: 9_000, reason: "test"))
        #expect(token.event.seq == 2)

        let revokedKey = RevocationRequest(
            kind: .signingKey, value: "k1", revokedAt: 1_200, expiresAt: 2_200, reason: "leaked")
        let second = try await store.saveSigningKeys(
            [Self.ring[1]],
            logging: KeyRingChange(publishedRing: "ring-2", changedAt: 1_200, revokedKeys: [revokedKey]))
        let keyEvent = RevocationEvent(seq: 3, kind: .signingKey, value: "k1", revokedAt: 1_200, expiresAt: 2_200)
        let ringEvent = RevocationEvent(seq: 4, kind: .keyRing, value: "ring-2", revokedAt: 1_200, expiresAt: .max)
        #expect(second == [keyEvent, ringEvent])
        #expect(try await store.loadSigningKeys() == StoredKeyRing(keys: [Self.ring[1]], seq: 4))

        // The log holds the latest ring only; the one it superseded counts as purged.
        let log = try await store.revocationEvents(after: 0, limit: 100)
        #expect(log.events == [token.event, keyEvent, ringEvent])
        #expect(!log.isComplete)
        #expect(try await store.revocationEvents(after: 1, limit: 100).isComplete)
        // A ring is no revocation; a revoked key is one.
        let state = try await store.activeRevocations(now: 1_500)
        #expect(state.events == [token.event, keyEvent])
        #expect(state.headSeq == 4)

        if kind == .redis {
            // Services reading the public schema see the revoked key too.
            let admin = try await RedisConnection.connect(
                try RedisConfiguration(url: try RedisTestServer.requiredURL()),
                on: MultiThreadedEventLoopGroup.singleton.next())
            defer { admin.close() }
            let value = try await admin.send(RedisCommand("GET", "\(fixture.redisKeyPrefix)revoked:kid:k1"))
            #expect(value.string == "1200")
        }
        await store.close()

        let reopened = try await fixture.openStore()
        #expect(try await reopened.loadSigningKeys() == StoredKeyRing(keys: [Self.ring[1]], seq: 4))
        #expect(try await reopened.activeRevocations(now: 1_500).events == [token.event, keyEvent])
        await reopened.close()
    }

    @Test(arguments: StoreKind.all)
    func aRingIsLoggedOnlyWithTheRingAndAChangeRevokesKeysOnly(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let direct = await #expect(throws: TokenStoreError.self) {
            try await store.revoke(
                RevocationRequest(kind: .keyRing, value: "ring", revokedAt: 1, expiresAt: .max, reason: ""))
        }
        #expect(direct?.isRejected == true)
        let notAKey = RevocationRequest(kind: .token, value: "jti", revokedAt: 1, expiresAt: 2, reason: "")
        let wrongKind = await #expect(throws: TokenStoreError.self) {
            try await store.saveSigningKeys(
                Self.ring, logging: KeyRingChange(publishedRing: "ring", changedAt: 1, revokedKeys: [notAKey]))
        }
        #expect(wrongKind?.isRejected == true)
        let empty = await #expect(throws: TokenStoreError.self) {
            try await store.saveSigningKeys(Self.ring, logging: KeyRingChange(publishedRing: "", changedAt: 1))
        }
        #expect(empty?.isRejected == true)
        #expect(try await store.loadSigningKeys() == StoredKeyRing(keys: [], seq: 0))
        #expect(try await store.revocationLogHead().seq == 0)
        // A written-back key revocation (after the store lost it) is stored like any revocation.
        let writtenBack = try await store.revoke(
            RevocationRequest(
                kind: .signingKey, value: "k9", revokedAt: 5, expiresAt: 50, reason: "", timesAreDecided: true))
        #expect(
            writtenBack.event == RevocationEvent(seq: 1, kind: .signingKey, value: "k9", revokedAt: 5, expiresAt: 50))
        await store.close()
    }
}
