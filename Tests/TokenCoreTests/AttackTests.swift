import Foundation
import Testing
import TokenCore

/// Forged and damaged tokens: none of them verifies, each for the expected reason.
@Suite struct AttackTests {
    let verifier = TokenVerifier(issuer: TokenFixtures.issuer)
    let edKey: SigningKey
    let ecKey: SigningKey
    let keys: KeySet
    let claims: Claims

    init() throws {
        edKey = try SigningKey.generate(.edDSA)
        ecKey = try SigningKey.generate(.es256)
        keys = KeySet(keys: ["ed": edKey.publicKey, "ec": ecKey.publicKey])
        claims = try TokenFixtures.claims()
    }

    func reason(_ token: String) -> VerificationReason {
        verifier.verify(token, keys: keys, audience: "api", now: TokenFixtures.now).reason
    }

    func header(alg: String, kid: String = "ed") -> String {
        #"{"alg":"\#(alg)","typ":"at+jwt","kid":"\#(kid)"}"#
    }

    var payload: String {
        TokenFixtures.payloadJSON(claims)
    }

    @Test func forgeryHelperMakesValidTokens() throws {
        // The attacks below differ from this one honest token only in what they attack.
        #expect(reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: edKey)) == .valid)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "ES256", kid: "ec"), payload: payload, key: ecKey))
                == .valid)
    }

    @Test(arguments: ["none", "None", "NONE", ""])
    func algNoneNeverVerifies(alg: String) throws {
        let token = try TokenFixtures.forge(header: header(alg: alg), payload: payload, key: nil)
        #expect(reason(token) == .unsupportedAlgorithm)
        let signed = try TokenFixtures.forge(header: header(alg: alg), payload: payload, key: edKey)
        #expect(reason(signed) == .unsupportedAlgorithm)
    }

    @Test(arguments: ["HS256", "HS384", "HS512", "RS256", "PS256", "ES384", "Ed25519", "eddsa"])
    func otherAlgorithmsNeverVerify(alg: String) throws {
        let token = try TokenFixtures.forge(header: header(alg: alg), payload: payload, key: edKey)
        #expect(reason(token) == .unsupportedAlgorithm)
    }

    @Test(arguments: TokenAlgorithm.allCases)
    func hs256KeyedWithThePublicKeyNeverVerifies(algorithm: TokenAlgorithm) throws {
        let (key, kid) = algorithm == .edDSA ? (edKey.publicKey, "ed") : (ecKey.publicKey, "ec")
        let forms: [[UInt8]] = [
            key.spkiDER,
            Array(key.spkiPEM.utf8),
            Array(key.jwk(keyID: kid).utf8),
            Array(keys.jwksJSON().utf8),
        ]
        for secret in forms {
            let input =
                Base64URL.encode(Array(header(alg: "HS256", kid: kid).utf8)) + "."
                + Base64URL.encode(Array(payload.utf8))
            let mac = TokenFixtures.hmacSHA256(key: secret, message: Array(input.utf8))
            #expect(reason(input + "." + Base64URL.encode(mac)) == .unsupportedAlgorithm)
        }
    }

    @Test func swappedAlgorithmsNeverVerify() throws {
        // An ES256 signature presented as EdDSA under the Ed25519 key's kid, and the reverse.
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "ES256", kid: "ed"), payload: payload, key: ecKey))
                == .unsupportedAlgorithm)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA", kid: "ec"), payload: payload, key: edKey))
                == .unsupportedAlgorithm)
        // The right alg for the kid, but signed by the other key type.
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA", kid: "ed"), payload: payload, key: ecKey))
                == .badSignature)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "ES256", kid: "ec"), payload: payload, key: edKey))
                == .badSignature)
    }

    @Test(arguments: [
        #""kid":"nope""#, #""kid":"""#, #""kid":"../../../etc/passwd""#, #""kid":"ed\u0000""#, #""kid":"ED""#,
        #""kid":"ed ""#, #""kid":1"#, #""kid":null"#, #""kid":["ed"]"#, #""kid":{"kid":"ed"}"#, #""x":1"#,
    ])
    func unknownAndHostileKeyIDs(kidMember: String) throws {
        let token = try TokenFixtures.forge(
            header: #"{"alg":"EdDSA","typ":"at+jwt",\#(kidMember)}"#, payload: payload, key: edKey)
        #expect(reason(token) == .unknownKey)
    }

    @Test func hugeKeyIDIsUnknown() throws {
        let kid = String(repeating: "k", count: 5000)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA", kid: kid), payload: payload, key: edKey))
                == .unknownKey)
    }

    @Test func tamperedHeaderOrPayloadFails() throws {
        let token = try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: edKey)
        let signature = String(token.split(separator: ".")[2])
        let otherHeader = Base64URL.encode(Array(#"{"alg":"EdDSA","typ":"at+jwt","kid":"ed","x":1}"#.utf8))
        let otherPayload = Base64URL.encode(Array(payload.replacingOccurrences(of: "alice", with: "admin").utf8))
        let parts = token.split(separator: ".").map(String.init)
        #expect(reason([otherHeader, parts[1], signature].joined(separator: ".")) == .badSignature)
        #expect(reason([parts[0], otherPayload, signature].joined(separator: ".")) == .badSignature)
        // A valid signature of another key of the same type, under this kid.
        let stranger = try SigningKey.generate(.edDSA)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: stranger))
                == .badSignature)
    }

    @Test func strippedOrTruncatedSignatureFails() throws {
        let token = try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: edKey)
        let signingInput = token.split(separator: ".").prefix(2).joined(separator: ".")
        #expect(reason(signingInput + ".") == .badSignature)
        #expect(reason(signingInput) == .malformed)
        #expect(reason(String(token.dropLast(2))) == .badSignature)  // 63 bytes
        #expect(reason(String(token.dropLast(1))) == .malformed)  // not base64url
    }

    @Test func paddingWhitespaceAndForeignCharactersAreMalformed() throws {
        let token = try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: edKey)
        let parts = token.split(separator: ".").map(String.init)
        let variants = [
            token + "=", token + "==", " " + token, token + "\n", token + ".",
            parts[0] + "=." + parts[1] + "." + parts[2],
            parts[0] + "." + parts[1] + " ." + parts[2],
            parts[0] + "." + parts[1].replacingOccurrences(of: "_", with: "/").replacingOccurrences(of: "-", with: "+")
                + "+." + parts[2],
            parts[0] + ".." + parts[2], "..", "", "a.b", "a.b.c.d",
        ]
        for variant in variants {
            #expect(reason(variant) == .malformed, "\(variant)")
        }
    }

    @Test(arguments: ["[]", "\"eyJ\"", "1", "null", "[{\"alg\":\"EdDSA\"}]", "{\"alg\":\"EdDSA\"", ""])
    func nonObjectHeaderIsMalformed(headerText: String) throws {
        #expect(reason(try TokenFixtures.forge(header: headerText, payload: payload, key: edKey)) == .malformed)
    }

    @Test(arguments: ["[]", "\"claims\"", "42", "null", "", "{\"iss\":1}"])
    func nonObjectOrIllTypedPayloadIsMalformed(payloadText: String) throws {
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payloadText, key: edKey))
                == .malformed)
    }

    @Test(arguments: [
        "1e400", "99999999999999999999999", "9223372036854775808", "-9223372036854775809", "1.5", "-1e2", "1E3",
        "\"9999999999\"", "null", "true", "01", "-", "--1", "1.", "0x10", "+1", "[1]",
    ])
    func exoticExpIsMalformed(exp: String) throws {
        let payload = TokenFixtures.payloadJSON(claims, exp: exp)
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: payload, key: edKey)) == .malformed)
    }

    @Test func criticalHeaderAndForeignTypeAreMalformed() throws {
        let crit = #"{"alg":"EdDSA","typ":"at+jwt","kid":"ed","crit":["exp"],"exp":1}"#
        #expect(reason(try TokenFixtures.forge(header: crit, payload: payload, key: edKey)) == .malformed)
        let typ = #"{"alg":"EdDSA","typ":"JWT","kid":"ed"}"#
        #expect(reason(try TokenFixtures.forge(header: typ, payload: payload, key: edKey)) == .malformed)
    }

    @Test func duplicateClaimIsMalformed() throws {
        let doubled = String(payload.dropLast()) + #","sub":"admin"}"#
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: doubled, key: edKey)) == .malformed)
        // The same name spelled with an escape is still the same name.
        let escaped = String(payload.dropLast()) + #","\u0073ub":"admin"}"#
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: escaped, key: edKey)) == .malformed)
        let escapedExp = String(payload.dropLast()) + #","\u0065xp2":1}"#
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: escapedExp, key: edKey)) == .valid)
    }

    @Test func escapedRegisteredNameIsReadAsThatClaim() throws {
        // "\u0065xp" is "exp": a string there is refused like any string exp.
        let withoutExp = payload.replacingOccurrences(of: #""exp":\#(claims.expiresAt),"#, with: "")
        let escaped = String(withoutExp.dropLast()) + #","\u0065xp":"9999999999"}"#
        #expect(
            reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: escaped, key: edKey)) == .malformed)
        let honest = String(withoutExp.dropLast()) + #","\u0065xp":\#(claims.expiresAt)}"#
        #expect(reason(try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: honest, key: edKey)) == .valid)
    }

    @Test func tokenOver8KiBIsMalformed() throws {
        let padding = String(repeating: "p", count: 8192)
        let big = String(payload.dropLast()) + #","pad":"\#(padding)"}"#
        let token = try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: big, key: edKey)
        #expect(token.utf8.count > 8192)
        #expect(reason(token) == .malformed)
        // Just under the limit the same construction verifies, so the size is what is refused.
        let fitting = String(payload.dropLast()) + #","pad":"\#(padding.prefix(5500))"}"#
        let small = try TokenFixtures.forge(header: header(alg: "EdDSA"), payload: fitting, key: edKey)
        #expect(small.utf8.count <= 8192)
        #expect(reason(small) == .valid)
        #expect(reason(String(repeating: "a", count: 100_000)) == .malformed)
    }
}
