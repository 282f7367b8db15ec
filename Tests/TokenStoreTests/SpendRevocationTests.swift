import Testing
import TokenCore
import TokenStore

/// A refresh token is spent only while its session is live and its subject was not revoked after
/// the session began, atomically; a revocation's times cover every token a write ordered before it
/// minted.
@Suite("Stores: no spend outlives a revocation")
struct SpendRevocationTests {
    private static func rotation(_ seed: Int, session: String, at time: Int64) -> RefreshRotation {
        RefreshRotation(
            spentAt: time, replay: [1], successor: StoreFixture.token(seed, session: session, expiresAt: 30_000),
            sessionExpiresAt: 30_000)
    }

    @Test(arguments: StoreKind.all)
    func aRevokedSessionsTokenIsNotSpent(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let token = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: token)
        _ = try await store.revoke(
            RevocationRequest(kind: .session, value: "s1", revokedAt: 2_000, expiresAt: 3_000, reason: ""))

        #expect(
            try await !store.spendRefreshToken(hash: token.hash, rotation: Self.rotation(2, session: "s1", at: 2_000)))
        // Nothing moved: the token is still the session's unspent one, the successor unknown.
        #expect(try await store.refreshToken(hash: token.hash, sessionID: "s1") == token)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(2), sessionID: "s1") == nil)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func aSubjectRevocationTakesTheLatestIssuedAtAsItsTime(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let token = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1", createdAt: 1_000), refreshToken: token)
        try await store.createSession(StoreFixture.session("s2", createdAt: 1_200), refreshToken: nil)
        // A refresh on a host whose clock is ahead minted a token at 5,000 and committed first.
        #expect(
            try await store.spendRefreshToken(hash: token.hash, rotation: Self.rotation(2, session: "s1", at: 5_000)))

        // Requested at 3,000 by a host whose clock is behind: stored at 5,000, covering that token.
        let receipt = try await store.revoke(
            RevocationRequest(kind: .subject, value: "alice", revokedAt: 3_000, expiresAt: 4_000, reason: ""))
        #expect(receipt.event.revokedAt == 5_000)
        #expect(receipt.event.expiresAt == 6_000)
        #expect(receipt.sessionsRevoked == 2)
        let stored = try await store.revocationEvents(after: 0, limit: 10).events
        #expect(stored == [receipt.event])

        // Without later tokens the requested time stands.
        let other = try await store.revoke(
            RevocationRequest(kind: .subject, value: "bob", revokedAt: 3_000, expiresAt: 4_000, reason: ""))
        #expect(other.event.revokedAt == 3_000)
        #expect(other.event.expiresAt == 4_000)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func aWrittenBackRevocationKeepsItsDecidedTimes(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        // A login after the original revocation, with tokens from 5,000 on.
        try await store.createSession(StoreFixture.session("s1", createdAt: 5_000), refreshToken: nil)

        // Written back after the store lost it: the login since must stay outside it.
        let receipt = try await store.revoke(
            RevocationRequest(
                kind: .subject, value: "alice", revokedAt: 3_000, expiresAt: 4_000, reason: "", timesAreDecided: true))
        #expect(receipt.event.revokedAt == 3_000)
        #expect(receipt.event.expiresAt == 4_000)
        #expect(try await store.liveSessions(subject: "alice", now: 5_000, limit: 10).map(\.sessionID) == ["s1"])
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func aSessionRevocationLastsUntilTheTokenOfItsLastRefreshExpired(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let token = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1", createdAt: 1_000), refreshToken: token)
        #expect(
            try await store.spendRefreshToken(hash: token.hash, rotation: Self.rotation(2, session: "s1", at: 5_000)))

        // Tokens are covered for 1,000 s after they are minted; the last one was minted at 5,000.
        let receipt = try await store.revoke(
            RevocationRequest(kind: .session, value: "s1", revokedAt: 3_000, expiresAt: 4_000, reason: ""))
        #expect(receipt.event.revokedAt == 3_000)
        #expect(receipt.event.expiresAt == 6_000)
        #expect(try await store.activeRevocations(now: 5_500).events == [receipt.event])
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func aLoginAtOrBeforeItsSubjectsRevocationIsRefusedAndALaterOneStored(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        _ = try await store.revoke(
            RevocationRequest(kind: .subject, value: "alice", revokedAt: 3_000, expiresAt: 4_000, reason: ""))

        for createdAt: Int64 in [2_000, 3_000] {
            let refused = await #expect(throws: TokenStoreError.self) {
                try await store.createSession(
                    StoreFixture.session("s-\(createdAt)", createdAt: createdAt),
                    refreshToken: StoreFixture.token(Int(createdAt), session: "s-\(createdAt)"))
            }
            #expect(refused?.isRevoked == true, "\(String(describing: refused))")
            #expect(try await store.session(id: "s-\(createdAt)") == nil)
        }
        let later = StoreFixture.session("s-later", createdAt: 3_001)
        let token = StoreFixture.token(1, session: "s-later")
        try await store.createSession(later, refreshToken: token)
        #expect(try await store.session(id: "s-later") == later)
        #expect(try await store.liveSessions(subject: "alice", now: 3_001, limit: 10) == [later])
        #expect(
            try await store.spendRefreshToken(
                hash: token.hash, rotation: Self.rotation(2, session: "s-later", at: 3_002)))
        await store.close()
    }
}
