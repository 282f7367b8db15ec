import Testing
import TokenCore

@testable import TokenStore

@Suite("Stores: sessions and refresh tokens")
struct SessionStoreTests {
    @Test(arguments: StoreKind.all)
    func sessionsRoundTripAndLiveSessionsFilter(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let older = StoreFixture.session("s-older", createdAt: 1_000)
        let newer = StoreFixture.session("s-newer", createdAt: 2_000)
        let expired = StoreFixture.session("s-expired", createdAt: 3_000, expiresAt: 5_000)
        let revoked = StoreFixture.session("s-revoked", createdAt: 4_000, revokedAt: 4_500)
        let other = StoreFixture.session("s-bob", subject: "bob")
        var bare = StoreFixture.session("s-bare", subject: "carol")
        bare.audience = []
        bare.scopes = []
        bare.metadata = [:]
        bare.extraClaimsJSON = ""
        for session in [older, newer, expired, revoked, other, bare] {
            try await store.createSession(session, refreshToken: nil)
        }

        #expect(try await store.session(id: "s-older") == older)
        #expect(try await store.session(id: "s-revoked") == revoked)
        #expect(try await store.session(id: "s-bare") == bare)
        #expect(try await store.session(id: "s-unknown") == nil)
        #expect(try await store.liveSessions(subject: "alice", now: 5_000, limit: 100) == [newer, older])
        #expect(try await store.liveSessions(subject: "alice", now: 5_000, limit: 1) == [newer])
        #expect(try await store.liveSessions(subject: "alice", now: 4_999, limit: 100) == [expired, newer, older])
        #expect(try await store.liveSessions(subject: "bob", now: 5_000, limit: 100) == [other])
        #expect(try await store.liveSessions(subject: "nobody", now: 5_000, limit: 100).isEmpty)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func createSessionStoresItsRefreshTokenAndRejectsConflicts(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let token = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: token)
        #expect(try await store.refreshToken(hash: token.hash, sessionID: "s1") == token)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(2), sessionID: "s1") == nil)
        #expect(try await store.refreshToken(hash: token.hash, sessionID: "s2") == nil)

        let duplicate = await #expect(throws: TokenStoreError.self) {
            try await store.createSession(StoreFixture.session("s1", subject: "mallory"), refreshToken: nil)
        }
        #expect(duplicate?.isRejected == true)
        #expect(try await store.session(id: "s1")?.subject == "alice")

        let foreignToken = await #expect(throws: TokenStoreError.self) {
            try await store.createSession(
                StoreFixture.session("s2"), refreshToken: StoreFixture.token(3, session: "s1"))
        }
        #expect(foreignToken?.isRejected == true)
        #expect(try await store.session(id: "s2") == nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(3), sessionID: "s1") == nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(3), sessionID: "s2") == nil)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func spendingRotatesTheTokenAndExtendsTheSession(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let first = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: first)
        let second = StoreFixture.token(2, session: "s1", expiresAt: 30_000)
        let rotation = RefreshRotation(spentAt: 1_500, replay: [9, 8, 7], successor: second, sessionExpiresAt: 12_000)

        #expect(try await store.spendRefreshToken(hash: first.hash, rotation: rotation))

        let spent = try await store.refreshToken(hash: first.hash, sessionID: "s1")
        #expect(spent?.spentAt == 1_500)
        #expect(spent?.replay == [9, 8, 7])
        #expect(spent?.issuedAt == first.issuedAt)
        #expect(spent?.expiresAt == first.expiresAt)
        #expect(try await store.refreshToken(hash: second.hash, sessionID: "s1") == second)
        let session = try await store.session(id: "s1")
        #expect(session?.refreshedAt == 1_500)
        #expect(session?.expiresAt == 12_000)

        let again = RefreshRotation(
            spentAt: 1_600, replay: [1], successor: StoreFixture.token(3, session: "s1"), sessionExpiresAt: 13_000)
        #expect(try await store.spendRefreshToken(hash: first.hash, rotation: again) == false)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(3), sessionID: "s1") == nil)
        #expect(try await store.refreshToken(hash: first.hash, sessionID: "s1")?.replay == [9, 8, 7])
        #expect(try await store.spendRefreshToken(hash: StoreFixture.hash(99), rotation: again) == false)
        #expect(try await store.spendRefreshToken(hash: second.hash, rotation: again))
        #expect(try await store.session(id: "s1")?.expiresAt == 13_000)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func spendWithASuccessorOfAnotherSessionFailsAndLeavesBothSessionsAsTheyWere(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let first = StoreFixture.token(1, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: first)
        try await store.createSession(StoreFixture.session("s2"), refreshToken: nil)
        let rotation = RefreshRotation(
            spentAt: 1_500, replay: [1], successor: StoreFixture.token(2, session: "s2"), sessionExpiresAt: 12_000)

        #expect(try await store.spendRefreshToken(hash: first.hash, rotation: rotation) == false)
        #expect(try await store.refreshToken(hash: first.hash, sessionID: "s1") == first)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(2), sessionID: "s2") == nil)
        #expect(try await store.session(id: "s2")?.expiresAt == StoreFixture.session("s2").expiresAt)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func concurrentSpendsOfOneTokenHaveExactlyOneWinner(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        let first = StoreFixture.token(0, session: "s1")
        try await store.createSession(StoreFixture.session("s1"), refreshToken: first)

        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for caller in 1...64 {
                group.addTask {
                    let rotation = RefreshRotation(
                        spentAt: 1_500, replay: [UInt8(caller)], successor: StoreFixture.token(caller, session: "s1"),
                        sessionExpiresAt: 12_000)
                    return (caller, try await store.spendRefreshToken(hash: first.hash, rotation: rotation))
                }
            }
            return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
        }

        let winners = outcomes.filter { $0.1 }.map { $0.0 }
        #expect(outcomes.count == 64)
        #expect(winners.count == 1)
        let winner = try #require(winners.first)
        #expect(try await store.refreshToken(hash: first.hash, sessionID: "s1")?.replay == [UInt8(winner)])
        var successors = 0
        for caller in 1...64 where try await store.refreshToken(hash: StoreFixture.hash(caller), sessionID: "s1") != nil {
            successors += 1
            #expect(caller == winner)
        }
        #expect(successors == 1)
        await store.close()
    }

    @Test func aLargeExpiryIsPurgedInSeveralRoundsAndCompletely() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let expired = EmbeddedTokenStore.purgeRoundRows * 2 + 10
        let results = await store.writeEach(
            try (0..<expired).map { index in
                try EmbeddedTokenStore.sessionWrite(
                    StoreFixture.session("s\(index)", expiresAt: 500),
                    refreshToken: StoreFixture.token(index, session: "s\(index)", expiresAt: 500))
            })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        try await store.createSession(
            StoreFixture.session("live"), refreshToken: StoreFixture.token(expired, session: "live"))
        var seqs: [UInt64] = []
        for index in 0..<(EmbeddedTokenStore.purgeRoundRows + 5) {
            let receipt = try await store.revoke(
                RevocationRequest(kind: .token, value: "j\(index)", revokedAt: 100, expiresAt: 600, reason: ""))
            seqs.append(receipt.event.seq)
        }
        let kept = try await store.revoke(
            RevocationRequest(kind: .token, value: "kept", revokedAt: 100, expiresAt: 9_000, reason: ""))

        try await store.purgeExpired(now: 1_000)

        #expect(try await store.session(id: "s0") == nil)
        #expect(try await store.session(id: "s\(expired - 1)") == nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(expired - 1), sessionID: "s\(expired - 1)") == nil)
        #expect(try await store.liveSessions(subject: "alice", now: 0, limit: 10).map(\.sessionID) == ["live"])
        #expect(try await store.refreshToken(hash: StoreFixture.hash(expired), sessionID: "live") != nil)
        // Every dropped event counts: a reader behind the last one of them needs a snapshot, and
        // still gets the events that are left.
        #expect(
            try await store.revocationEvents(after: seqs[seqs.count - 2], limit: 10)
                == RevocationEventPage(events: [kept.event], isComplete: false))
        #expect(
            try await store.revocationEvents(after: seqs[seqs.count - 1], limit: 10)
                == RevocationEventPage(events: [kept.event], isComplete: true))
        #expect(try await store.activeRevocations(now: 1_000).events == [kept.event])
        await store.close()
    }

    @Test func aFailingWriteDoesNotFailTheOthersOfItsBatch() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        // Queued together, these three run in one transaction: the duplicate must fail alone.
        let results = await store.writeEach([
            try EmbeddedTokenStore.sessionWrite(StoreFixture.session("a"), refreshToken: nil),
            try EmbeddedTokenStore.sessionWrite(StoreFixture.session("a", subject: "mallory"), refreshToken: nil),
            try EmbeddedTokenStore.sessionWrite(
                StoreFixture.session("b"), refreshToken: StoreFixture.token(1, session: "b")),
        ])

        #expect(results.count == 3)
        #expect((try? results[0].get()) != nil)
        guard case .failure(let error) = results[1] else {
            Issue.record("the duplicate session was stored")
            return
        }
        #expect(error.isRejected)
        #expect((try? results[2].get()) != nil)
        #expect(try await store.session(id: "a")?.subject == "alice")
        #expect(try await store.session(id: "b") != nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(1), sessionID: "b") != nil)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func concurrentWritesWithOneDuplicateAllGetTheirOwnResult(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        try await store.createSession(StoreFixture.session("taken"), refreshToken: nil)

        let failures = try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let id = index == 17 ? "taken" : "s\(index)"
                    do {
                        try await store.createSession(StoreFixture.session(id), refreshToken: nil)
                        return nil
                    } catch let error as TokenStoreError where error.isRejected {
                        return id
                    }
                }
            }
            return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
        }

        #expect(failures == ["taken"])
        #expect(try await store.liveSessions(subject: "alice", now: 0, limit: 100).count == 64)
        await store.close()
    }
}
