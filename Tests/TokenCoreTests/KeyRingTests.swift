import Testing
import TokenCore

@Suite struct KeyRingTests {
    let now: Int64 = 1_000_000

    @Test(arguments: TokenAlgorithm.allCases)
    func bootstrapPublishesActiveAndNext(algorithm: TokenAlgorithm) throws {
        let ring = try KeyRing.bootstrap(algorithm: algorithm, now: now)
        #expect(ring.entries.map(\.state) == [.active, .next])
        #expect(ring.active.key.algorithm == algorithm)
        #expect(ring.next.key.algorithm == algorithm)
        #expect(ring.active.keyID != ring.next.keyID)
        #expect(ring.active.keyID == ring.active.key.publicKey.thumbprint)
        #expect(ring.keySet.keyIDs == [ring.active.keyID, ring.next.keyID].sorted())
        #expect(ring.keySet[ring.next.keyID] == ring.next.key.publicKey)
    }

    @Test func rotationNeverSignsWithAnUnpublishedKey() throws {
        var ring = try KeyRing.bootstrap(algorithm: .edDSA, now: now)
        let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
        var claims = try TokenFixtures.claims()
        var published = ring.keySet
        for step in 1...4 {
            let time = now + Int64(step) * 100
            let nextBefore = ring.next.keyID
            let activeBefore = ring.active.keyID
            try ring.rotate(now: time, maxTokenLifetime: 900, algorithm: .edDSA)
            #expect(ring.active.keyID == nextBefore)
            #expect(ring.active.notBefore == time)
            let retired = try #require(ring.entries.first { $0.keyID == activeBefore })
            #expect(retired.state == .retiring)
            #expect(retired.notAfter == time + 900 + 30)
            // The new ACTIVE key was in the key set clients fetched before the rotation.
            claims.issuedAt = time
            claims.notBefore = time
            claims.expiresAt = time + 900
            let token = try TokenMinter().mint(claims: claims, key: ring.active.key, keyID: ring.active.keyID)
            #expect(verifier.verify(token, keys: published, audience: nil, now: time).reason == .valid)
            published = ring.keySet
        }
        #expect(ring.entries.map(\.state) == [.active, .next, .retiring, .retiring, .retiring, .retiring])
    }

    @Test func retiringKeysStayUntilTheirTokensExpire() throws {
        var ring = try KeyRing.bootstrap(algorithm: .es256, now: now)
        let old = ring.active
        var claims = try TokenFixtures.claims()
        claims.issuedAt = now
        claims.notBefore = now
        claims.expiresAt = now + 900
        let token = try TokenMinter().mint(claims: claims, key: old.key, keyID: old.keyID)
        try ring.rotate(now: now, maxTokenLifetime: 900, algorithm: .es256)
        let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
        let lastValidSecond = now + 900 + 29
        let prunedEarly = ring.prune(now: lastValidSecond)
        #expect(!prunedEarly)
        #expect(verifier.verify(token, keys: ring.keySet, audience: nil, now: lastValidSecond).reason == .valid)
        let prunedOnTime = ring.prune(now: lastValidSecond + 1)
        #expect(prunedOnTime)
        #expect(ring.keySet[old.keyID] == nil)
        #expect(ring.entries.map(\.state) == [.active, .next])
        let prunedAgain = ring.prune(now: lastValidSecond + 1000)
        #expect(!prunedAgain)
    }

    @Test func rotationCanSwitchAlgorithm() throws {
        var ring = try KeyRing.bootstrap(algorithm: .edDSA, now: now)
        try ring.rotate(now: now + 1, maxTokenLifetime: 60, algorithm: .es256)
        #expect(ring.active.key.algorithm == .edDSA)  // the published NEXT key, whatever its type
        #expect(ring.next.key.algorithm == .es256)
        try ring.rotate(now: now + 2, maxTokenLifetime: 60, algorithm: .es256)
        #expect(ring.active.key.algorithm == .es256)
    }

    @Test func initValidatesEntries() throws {
        let ring = try KeyRing.bootstrap(algorithm: .edDSA, now: now)
        let (active, next) = (ring.active, ring.next)
        #expect(throws: TokenError.self) { try KeyRing(entries: [active]) }
        #expect(throws: TokenError.self) { try KeyRing(entries: [next]) }
        #expect(throws: TokenError.self) { try KeyRing(entries: [active, active, next]) }
        var duplicate = next
        duplicate.keyID = active.keyID
        #expect(throws: TokenError.self) { try KeyRing(entries: [active, duplicate]) }
        var openRetiring = active
        openRetiring.keyID = "r"
        openRetiring.state = .retiring
        #expect(throws: TokenError.self) { try KeyRing(entries: [active, next, openRetiring]) }
        openRetiring.notAfter = now + 10
        let restored = try KeyRing(entries: [openRetiring, next, active])
        #expect(restored.entries.map(\.keyID) == [active.keyID, next.keyID, "r"])
    }

    @Test func jwksListsEveryPublishedKey() throws {
        var ring = try KeyRing.bootstrap(algorithm: .edDSA, now: now)
        try ring.rotate(now: now, maxTokenLifetime: 60, algorithm: .es256)
        let jwks = ring.jwksJSON()
        let parsed = try KeySet(jwksJSON: jwks)
        #expect(parsed.keyIDs == ring.keySet.keyIDs)
        for entry in ring.entries {
            #expect(parsed[entry.keyID] == entry.key.publicKey)
        }
        guard case .array(let keys)? = try JSONValue.parseObject(jwks)["keys"] else {
            Issue.record("no keys array")
            return
        }
        #expect(keys.count == 3)
    }

    @Test func jwkSetReaderSkipsForeignKeysAndRejectsBrokenOnes() throws {
        let key = try SigningKey.generate(.edDSA).publicKey
        let text = #"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"},"# + key.jwk(keyID: "e") + "]}"
        #expect(try KeySet(jwksJSON: text).keyIDs == ["e"])
        #expect(throws: TokenError.self) { try KeySet(jwksJSON: #"{"keys":{}}"#) }
        #expect(throws: TokenError.self) { try KeySet(jwksJSON: #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}"#) }
        let withoutKid = key.jwk(keyID: "e").replacingKid()
        #expect(throws: TokenError.self) { try KeySet(jwksJSON: #"{"keys":["# + withoutKid + "]}") }
    }
}

extension String {
    fileprivate func replacingKid() -> String {
        guard let object = try? JSONValue.parseObject(self),
            let stripped = try? JSONObject(members: object.members.filter { $0.name != "kid" })
        else { return self }
        return stripped.jsonText
    }
}
