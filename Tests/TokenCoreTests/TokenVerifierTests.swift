import Testing
import TokenCore

@Suite struct TokenVerifierTests {
    let verifier = TokenVerifier(issuer: TokenFixtures.issuer)

    func setUp(_ algorithm: TokenAlgorithm) throws -> (key: SigningKey, keys: KeySet) {
        let key = try SigningKey.generate(algorithm)
        return (key, KeySet(keys: ["k1": key.publicKey]))
    }

    @Test(arguments: TokenAlgorithm.allCases)
    func mintedTokenVerifiesWithItsClaims(algorithm: TokenAlgorithm) throws {
        let (key, keys) = try setUp(algorithm)
        var claims = try TokenFixtures.claims(audience: ["api", "admin"])
        claims.extraClaimsJSON = #"{"tenant":"t-1","roles":["a","b"],"n":1.5e2}"#
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        let result = verifier.verify(token, keys: keys, audience: "admin", now: TokenFixtures.now)
        #expect(result.reason == .valid)
        #expect(result.isValid)
        #expect(result.claims == claims)
        #expect(result.keyID == "k1")
    }

    @Test func headerAndPayloadHaveTheContractShape() throws {
        let (key, _) = try setUp(.edDSA)
        let claims = try TokenFixtures.claims()
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "key-\"1\"")
        let jws = try CompactJWS(parsing: token)
        #expect(jws.header.jsonText == #"{"alg":"EdDSA","typ":"at+jwt","kid":"key-\"1\""}"#)
        let payload = try JSONValue.parseObject(String(decoding: jws.payload, as: UTF8.self))
        #expect(payload.names == ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope"])
        #expect(payload["aud"] == .string("api"))
        #expect(payload["scope"] == .string("read write"))
        #expect(payload["jti"]?.stringValue?.utf8.count == 22)
    }

    @Test func mintRejectsBadExtraClaimsAndScopes() throws {
        let (key, _) = try setUp(.edDSA)
        var claims = try TokenFixtures.claims()
        claims.extraClaimsJSON = #"{"sub":"mallory"}"#
        #expect(throws: TokenError.self) { try TokenMinter().mint(claims: claims, key: key, keyID: "k1") }
        claims.extraClaimsJSON = "[]"
        #expect(throws: TokenError.self) { try TokenMinter().mint(claims: claims, key: key, keyID: "k1") }
        claims.extraClaimsJSON = ""
        claims.scopes = ["two words"]
        #expect(throws: TokenError.self) { try TokenMinter().mint(claims: claims, key: key, keyID: "k1") }
        claims.scopes = []
        claims.extraClaimsJSON = #"{"blob":""# + String(repeating: "x", count: 7000) + #""}"#
        #expect(throws: TokenError.self) {
            try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        }
    }

    @Test func expiryHonoursLeeway() throws {
        let (key, keys) = try setUp(.edDSA)
        let claims = try TokenFixtures.claims()
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        let exp = claims.expiresAt
        #expect(verifier.verify(token, keys: keys, audience: nil, now: exp + 29).reason == .valid)
        let expired = verifier.verify(token, keys: keys, audience: nil, now: exp + 30)
        #expect(expired.reason == .expired)
        #expect(expired.claims == claims, "claims are returned when the signature is good")
        let strict = TokenVerifier(issuer: TokenFixtures.issuer, leeway: 0)
        #expect(strict.verify(token, keys: keys, audience: nil, now: exp - 1).reason == .valid)
        #expect(strict.verify(token, keys: keys, audience: nil, now: exp).reason == .expired)
    }

    @Test func extremeTimesDoNotOverflow() throws {
        let (key, keys) = try setUp(.edDSA)
        var claims = try TokenFixtures.claims()
        claims.expiresAt = Int64.max
        let forever = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        #expect(verifier.verify(forever, keys: keys, audience: nil, now: Int64.max - 10).reason == .valid)
        claims.expiresAt = Int64.min
        let never = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        #expect(verifier.verify(never, keys: keys, audience: nil, now: TokenFixtures.now).reason == .expired)
    }

    @Test func notBeforeAndIssuedAtHonourLeeway() throws {
        let (key, keys) = try setUp(.edDSA)
        var claims = try TokenFixtures.claims()
        claims.notBefore = TokenFixtures.now + 100
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        #expect(verifier.verify(token, keys: keys, audience: nil, now: claims.notBefore - 31).reason == .notYetValid)
        #expect(verifier.verify(token, keys: keys, audience: nil, now: claims.notBefore - 30).reason == .valid)
        claims.notBefore = TokenFixtures.now
        claims.issuedAt = TokenFixtures.now + 100
        let future = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        #expect(verifier.verify(future, keys: keys, audience: nil, now: TokenFixtures.now).reason == .notYetValid)
    }

    @Test func issuerIsAlwaysChecked() throws {
        let (key, keys) = try setUp(.es256)
        let token = try TokenMinter().mint(claims: try TokenFixtures.claims(), key: key, keyID: "k1")
        let other = TokenVerifier(issuer: "https://other.example.test")
        let result = other.verify(token, keys: keys, audience: nil, now: TokenFixtures.now)
        #expect(result.reason == .wrongIssuer)
        #expect(result.claims != nil)
    }

    @Test func audienceIsCheckedWhenNamed() throws {
        let (key, keys) = try setUp(.edDSA)
        let token = try TokenMinter().mint(claims: try TokenFixtures.claims(audience: ["api"]), key: key, keyID: "k1")
        #expect(verifier.verify(token, keys: keys, audience: "api", now: TokenFixtures.now).reason == .valid)
        #expect(
            verifier.verify(token, keys: keys, audience: "billing", now: TokenFixtures.now).reason == .wrongAudience)
        #expect(verifier.verify(token, keys: keys, audience: nil, now: TokenFixtures.now).reason == .valid)
        let none = try TokenMinter().mint(claims: try TokenFixtures.claims(audience: []), key: key, keyID: "k1")
        #expect(verifier.verify(none, keys: keys, audience: "api", now: TokenFixtures.now).reason == .wrongAudience)
    }

    @Test func revocationsAreHonoured() throws {
        let (key, keys) = try setUp(.edDSA)
        let claims = try TokenFixtures.claims()
        let token = try TokenMinter().mint(claims: claims, key: key, keyID: "k1")
        let now = TokenFixtures.now
        var revocations = RevocationSet()
        revocations.apply(
            RevocationEvent(
                seq: 1, kind: .token, value: try TokenID.random().text, revokedAt: now, expiresAt: now + 900))
        #expect(verifier.verify(token, keys: keys, audience: nil, now: now, revocations: revocations).reason == .valid)
        for kind in [RevocationEvent.Kind.token, .session, .subject] {
            let value = kind == .token ? claims.tokenID : kind == .session ? claims.sessionID : claims.subject
            var set = RevocationSet()
            set.apply(RevocationEvent(seq: 1, kind: kind, value: value, revokedAt: now, expiresAt: now + 900))
            #expect(verifier.verify(token, keys: keys, audience: nil, now: now, revocations: set).reason == .revoked)
        }
    }
}
