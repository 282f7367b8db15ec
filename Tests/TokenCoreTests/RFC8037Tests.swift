import Testing
import TokenCore

/// RFC 8037's Ed25519 JWS example, byte for byte.
@Suite struct RFC8037Tests {
    struct Vector {
        let key: SigningKey
        let header: String
        let payload: String
        let token: String
    }

    func vector() throws -> Vector {
        let json = try TokenFixtures.vectorJSON("rfc8037_ed25519_jws.json")
        let jwk = try #require(json["private_jwk"] as? [String: String])
        let jwkText = #"{"kty":"OKP","crv":"Ed25519","d":"\#(jwk["d"] ?? "")","x":"\#(jwk["x"] ?? "")"}"#
        return Vector(
            key: try SigningKey(jwk: jwkText),
            header: try #require(json["protected_header_json"] as? String),
            payload: try #require(json["payload_text"] as? String),
            token: try #require(json["compact_jws"] as? String)
        )
    }

    @Test func signingReproducesTheToken() throws {
        let vector = try vector()
        #expect(
            try TokenFixtures.forge(header: vector.header, payload: vector.payload, key: vector.key) == vector.token)
    }

    @Test func verificationAcceptsTheToken() throws {
        let vector = try vector()
        let jws = try CompactJWS(parsing: vector.token)
        #expect(jws.payload == Array(vector.payload.utf8))
        #expect(jws.isSigned(by: vector.key.publicKey))
    }

    @Test func verificationRejectsEveryOneBitChange() throws {
        let vector = try vector()
        let publicKey = vector.key.publicKey
        let original = Array(vector.token.utf8)
        var checked = 0
        for index in original.indices {
            for bit in 0..<8 {
                var mutated = original
                mutated[index] ^= 1 << bit
                let text = String(decoding: mutated, as: UTF8.self)
                let accepted = (try? CompactJWS(parsing: text))?.isSigned(by: publicKey) ?? false
                #expect(!accepted, "accepted with bit \(bit) of byte \(index) flipped")
                checked += 1
            }
        }
        #expect(checked == original.count * 8)
    }
}
