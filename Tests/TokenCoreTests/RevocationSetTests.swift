import Testing
import TokenCore

@Suite struct RevocationSetTests {
    let now: Int64 = 5_000

    @Test func revokesByTokenSessionAndSubject() throws {
        let jti = try TokenID.random().text
        var set = RevocationSet()
        set.apply(RevocationEvent(seq: 1, kind: .token, value: jti, revokedAt: now, expiresAt: now + 60))
        set.apply(RevocationEvent(seq: 2, kind: .session, value: "s1", revokedAt: now, expiresAt: now + 60))
        set.apply(RevocationEvent(seq: 3, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60))
        #expect(set.count == 3)
        #expect(set.isRevoked(tokenID: jti, sessionID: "s9", subject: "carol", issuedAt: now))
        #expect(set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s1", subject: "carol", issuedAt: now))
        #expect(set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s9", subject: "bob", issuedAt: now))
        #expect(!set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s9", subject: "bob", issuedAt: now + 1))
        #expect(!set.isRevoked(tokenID: try TokenID.random().text, sessionID: "", subject: "carol", issuedAt: now))
    }

    @Test func applyIsIdempotentAndLatestSubjectRevocationWins() {
        var set = RevocationSet()
        let event = RevocationEvent(seq: 1, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60)
        set.apply(event)
        set.apply(event)
        #expect(set.count == 1)
        set.apply(RevocationEvent(seq: 2, kind: .subject, value: "bob", revokedAt: now + 10, expiresAt: now + 70))
        set.apply(RevocationEvent(seq: 1, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60))
        #expect(set.count == 1)
        #expect(set.isRevoked(tokenID: "x", sessionID: "", subject: "bob", issuedAt: now + 10))
        #expect(!set.isRevoked(tokenID: "x", sessionID: "", subject: "bob", issuedAt: now + 11))
        var pruned = set
        pruned.prune(now: now + 61)
        #expect(pruned.count == 1, "the later event's expiry is kept")
    }

    @Test func nonCanonicalTokenIDsAreKeptToo() {
        var set = RevocationSet()
        set.apply(RevocationEvent(seq: 1, kind: .token, value: "external-id-1", revokedAt: now, expiresAt: now + 1))
        #expect(set.isRevoked(tokenID: "external-id-1", sessionID: "", subject: "a", issuedAt: now))
        #expect(!set.isRevoked(tokenID: "external-id-2", sessionID: "", subject: "a", issuedAt: now))
    }

    @Test func pruneDropsExpiredEntriesOnly() throws {
        var set = RevocationSet()
        set.apply(
            RevocationEvent(seq: 1, kind: .token, value: try TokenID.random().text, revokedAt: now, expiresAt: now + 10)
        )
        set.apply(RevocationEvent(seq: 2, kind: .session, value: "s", revokedAt: now, expiresAt: now + 20))
        set.apply(RevocationEvent(seq: 3, kind: .subject, value: "u", revokedAt: now, expiresAt: now + 30))
        set.prune(now: now + 10)
        #expect(set.count == 3)
        set.prune(now: now + 11)
        #expect(set.count == 2)
        set.prune(now: now + 21)
        #expect(set.count == 1)
        set.prune(now: now + 31)
        #expect(set.isEmpty)
    }
}
