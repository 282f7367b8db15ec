import Foundation
import Testing
import TokenCore
import TokenTestSupport

/// Tokens cross-checked with two independent JOSE libraries for Python (joserfc and PyJWT), run by
/// `tools/interop/interop.py`: they verify the engine's tokens from the JWK Set alone, and the
/// engine verifies the tokens they sign with its exported PKCS#8 PEM keys.
@Suite struct InteropTests {
    struct Output: Decodable {
        struct Verified: Decodable {
            let library: String
            let index: Int
            let sub: String
        }
        struct Signed: Decodable {
            let library: String
            let kid: String
            let sub: String
            let token: String
        }
        let verified: [Verified]
        let signed: [Signed]
    }

    @Test func pythonLibrariesAgreeWithTheEngine() throws {
        let issuer = TokenFixtures.issuer
        let audience = "interop-api"
        // The Python libraries check expiry against the real clock.
        let now = SystemClock().now()
        let keys = try TokenAlgorithm.allCases.map { try SigningKey.generate($0) }
        let keyIDs = keys.map(\.publicKey.thumbprint)
        let keySet = KeySet(keys: Dictionary(uniqueKeysWithValues: zip(keyIDs, keys.map(\.publicKey))))

        var tokens: [[String: String]] = []
        for (key, keyID) in zip(keys, keyIDs) {
            var claims = try TokenFixtures.claims(subject: "engine-\(key.algorithm.rawValue)", audience: [audience])
            claims.issuedAt = now
            claims.notBefore = now
            claims.expiresAt = now + 300
            claims.extraClaimsJSON = #"{"tenant":"t-1"}"#
            tokens.append([
                "token": try TokenMinter().mint(claims: claims, key: key, keyID: keyID), "sub": claims.subject,
            ])
        }
        let signers = try zip(keys, keyIDs).map { key, keyID in
            ["kid": keyID, "alg": key.algorithm.rawValue, "pkcs8_pem": try key.pkcs8PEM()]
        }
        let input: [String: Any] = [
            "issuer": issuer,
            "audience": audience,
            "now": now,
            "jwks": try JSONSerialization.jsonObject(with: Data(keySet.jwksJSON().utf8)),
            "tokens": tokens,
            "signers": signers,
        ]

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("input.json")
        let outputURL = directory.appendingPathComponent("output.json")
        try JSONSerialization.data(withJSONObject: input).write(to: inputURL)

        let run = try PythonScript.run("tools/interop/interop.py", arguments: [inputURL.path, outputURL.path])
        try #require(run.status == 0, "interop.py failed: \(run.output)")

        let output = try JSONDecoder().decode(Output.self, from: Data(contentsOf: outputURL))
        // Both libraries verified every engine token and read its subject.
        #expect(output.verified.count == tokens.count * 2)
        #expect(Set(output.verified.map(\.library)) == ["joserfc", "pyjwt"])
        for entry in output.verified {
            #expect(entry.sub == tokens[entry.index]["sub"])
        }
        // The engine verifies every token both libraries signed, with both key types.
        #expect(output.signed.count == keys.count * 2)
        let verifier = TokenVerifier(issuer: issuer)
        for entry in output.signed {
            let result = verifier.verify(entry.token, keys: keySet, audience: audience, now: now)
            #expect(result.reason == .valid, "\(entry.library) token under \(entry.kid)")
            #expect(result.claims?.subject == entry.sub)
            #expect(result.claims?.scopes == ["read", "write"])
            #expect(result.keyID == entry.kid)
        }
    }
}
