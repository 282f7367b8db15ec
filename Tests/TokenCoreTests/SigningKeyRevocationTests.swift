import Testing
import TokenCore

/// A leaked signing key: dropped from the ring, revoked in the revocation set, named by the verifier.
@Suite struct SigningKeyRevocationTests {
    let now: Int64 = 1_000_000

    @Test func anEmergencyRotationDropsTheActiveKeyInsteadOfRetiringIt() throws {
        var ring = try KeyRing.bootstrap(algorithm: .edDSA, now: now)
        try ring.rotate(now: now + 10, maxTokenLifetime: 900, algorithm: .edDSA)
        let (leaked, retiring, next) = (ring.active.keyID, ring.entries[2].keyID, ring.next.keyID)
        try ring.rotate(now: now + 20, maxTokenLifetime: 900, algorithm: .edDSA, droppingActive: true)
        #expect(ring.active.keyID == next)
        #expect(ring.entries.map(\.state) == [.active, .next, .retiring])
        #expect(ring.entries[2].keyID == retiring)
        #expect(ring.keySet[leaked] == nil)
        #expect(!ring.jwksJSON().contains(leaked))
    }

    @Test func aRevokedKeyIsHeldUntilItsEntryExpiresAndAKeyRingEventRevokesNothing() {
        var set = RevocationSet()
        set.apply(RevocationEvent(seq: 1, kind: .keyRing, value: "ring", revokedAt: now, expiresAt: .max))
        #expect(set.isEmpty)
        set.apply(RevocationEvent(seq: 2, kind: .signingKey, value: "kid-1", revokedAt: now, expiresAt: now + 960))
        #expect(set.isRevoked(keyID: "kid-1"))
        #expect(!set.isRevoked(keyID: "kid-2"))
        // A key revocation names no token, session or subject.
        #expect(!set.isRevoked(tokenID: "kid-1", sessionID: "kid-1", subject: "kid-1", issuedAt: now))
        #expect(set.count == 1)
        let entry = RevocationEvent(seq: 0, kind: .signingKey, value: "kid-1", revokedAt: 0, expiresAt: now + 960)
        #expect(set.entries == [entry])
        set.prune(now: now + 960)
        #expect(set.isRevoked(keyID: "kid-1"))
        set.prune(now: now + 961)
        #expect(!set.isRevoked(keyID: "kid-1"))
        #expect(set.isEmpty)
    }

    @Test func anUnknownKeyIsReportedWithTheKidTheTokenNames() throws {
        let key = try SigningKey.generate(.edDSA)
        let claims = try TokenFixtures.claims()
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "gone")
        let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
        let result = verifier.verify(token, keys: KeySet(), audience: nil, now: claims.issuedAt)
        #expect(result.reason == .unknownKey)
        #expect(result.keyID == "gone")
        #expect(result.claims == nil)
        let published = KeySet(keys: ["gone": key.publicKey, "other": key.publicKey])
        #expect(published.filter { $0 != "gone" }.keyIDs == ["other"])
    }
}
