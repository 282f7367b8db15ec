import Testing
import TokenCore

@Suite struct SigningKeyTests {
    @Test(arguments: TokenAlgorithm.allCases)
    func signsAndVerifies(algorithm: TokenAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        #expect(key.algorithm == algorithm)
        #expect(key.publicKey.algorithm == algorithm)
        let message = Array("message".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == 64)
        #expect(key.publicKey.verify(signature: signature, message: message))
        #expect(!key.publicKey.verify(signature: signature, message: Array("massage".utf8)))
        let other = try SigningKey.generate(algorithm)
        #expect(!other.publicKey.verify(signature: signature, message: message))
    }

    @Test(arguments: TokenAlgorithm.allCases)
    func pkcs8RoundTrips(algorithm: TokenAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let fromDER = try SigningKey(pkcs8DER: key.pkcs8DER())
        let pem = try key.pkcs8PEM()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let fromPEM = try SigningKey(pkcs8PEM: pem)
        #expect(fromDER.publicKey == key.publicKey)
        #expect(fromPEM.publicKey == key.publicKey)
        #expect(fromDER.algorithm == algorithm)
        let message = Array("round trip".utf8)
        #expect(key.publicKey.verify(signature: try fromPEM.sign(message), message: message))
    }

    @Test(arguments: TokenAlgorithm.allCases)
    func publicKeyFormsRoundTrip(algorithm: TokenAlgorithm) throws {
        let key = try SigningKey.generate(algorithm).publicKey
        #expect(try VerificationKey(spkiDER: key.spkiDER) == key)
        #expect(try VerificationKey(spkiPEM: key.spkiPEM) == key)
        let jwk = key.jwk(keyID: "k1")
        #expect(try VerificationKey(jwk: jwk) == key)
        let object = try JSONValue.parseObject(jwk)
        #expect(object["kid"] == .string("k1"))
        #expect(object["alg"] == .string(algorithm.rawValue))
        #expect(object["use"] == .string("sig"))
        switch algorithm {
        case .edDSA:
            #expect(object.names == ["kty", "crv", "x", "kid", "alg", "use"])
            #expect(object["kty"] == .string("OKP"))
            #expect(object["crv"] == .string("Ed25519"))
        case .es256:
            #expect(object.names == ["kty", "crv", "x", "y", "kid", "alg", "use"])
            #expect(object["kty"] == .string("EC"))
            #expect(object["crv"] == .string("P-256"))
        }
    }

    @Test func thumbprintMatchesRFC8037() throws {
        // RFC 8037 Appendix A.3: the thumbprint of the example key.
        let key = try VerificationKey(
            jwk: #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#)
        #expect(key.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    }

    @Test func privateJWKMustMatchItsPublicPart() throws {
        let vector = try TokenFixtures.vectorJSON("rfc8037_ed25519_jws.json")
        let jwk = try #require(vector["private_jwk"] as? [String: String])
        let good = #"{"kty":"OKP","crv":"Ed25519","d":"\#(jwk["d"] ?? "")","x":"\#(jwk["x"] ?? "")"}"#
        #expect(throws: Never.self) { try SigningKey(jwk: good) }
        let otherX = Base64URL.encode(try SigningKey.generate(.edDSA).publicKey.spkiDER.suffix(32))
        let bad = #"{"kty":"OKP","crv":"Ed25519","d":"\#(jwk["d"] ?? "")","x":"\#(otherX)"}"#
        #expect(throws: TokenError.invalidKey("JWK d does not match its public key")) { try SigningKey(jwk: bad) }
        #expect(throws: TokenError.invalidKey("JWK without d")) {
            try SigningKey(jwk: #"{"kty":"OKP","crv":"Ed25519","x":"\#(jwk["x"] ?? "")"}"#)
        }
    }

    @Test func es256PrivateJWKImports() throws {
        let key = try SigningKey.generate(.es256)
        // d is the last 32 bytes of the OCTET STRING inside the PKCS#8 structure OpenSSL writes:
        // take it from the DER, then rebuild the key from its JWK.
        let der = try key.pkcs8DER()
        let marker: [UInt8] = [0x02, 0x01, 0x01, 0x04, 0x20]
        let start = try #require(der.indices.first { der[$0...].starts(with: marker) })
        let d = Array(der[(start + marker.count)..<(start + marker.count + 32)])
        let publicJWK = try JSONValue.parseObject(key.publicKey.jwk(keyID: "k"))
        let x = try #require(publicJWK["x"]?.stringValue)
        let y = try #require(publicJWK["y"]?.stringValue)
        let imported = try SigningKey(
            jwk: #"{"kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)","d":"\#(Base64URL.encode(d))"}"#)
        #expect(imported.publicKey == key.publicKey)
    }

    @Test func rejectsGarbageAndForeignKeys() throws {
        #expect(throws: TokenError.self) { try SigningKey(pkcs8DER: []) }
        #expect(throws: TokenError.self) { try SigningKey(pkcs8DER: [0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect(throws: TokenError.self) {
            try SigningKey(pkcs8PEM: "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n")
        }
        #expect(throws: TokenError.self) { try VerificationKey(spkiDER: Array(repeating: 0x30, count: 40)) }
        let key = try SigningKey.generate(.edDSA)
        #expect(throws: TokenError.self) { try SigningKey(pkcs8DER: key.pkcs8DER() + [0]) }
        #expect(throws: TokenError.self) { try VerificationKey(spkiDER: key.publicKey.spkiDER + [0]) }
        #expect(throws: TokenError.self) { try VerificationKey(spkiDER: Array(key.publicKey.spkiDER.dropLast())) }
        // An X25519 public key (same length, another algorithm identifier) is not a signing key.
        var x25519 = key.publicKey.spkiDER
        x25519[8] = 0x6E
        #expect(throws: TokenError.unsupportedKey) { try VerificationKey(spkiDER: x25519) }
        // A P-384 public key (secp384r1 SPKI) is refused.
        let p384 = try TokenFixtures.hex(
            "3076301006072a8648ce3d020106052b8104002203620004"
                + "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7"
                + "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f")
        #expect(throws: TokenError.unsupportedKey) { try VerificationKey(spkiDER: p384) }
        #expect(throws: TokenError.unsupportedKey) {
            try VerificationKey(jwk: #"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#)
        }
        #expect(throws: TokenError.self) { try VerificationKey(jwk: #"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#) }
    }

    @Test func es256RejectsOutOfRangeSignatures() throws {
        let key = try SigningKey.generate(.es256)
        let message = Array("m".utf8)
        let signature = try key.sign(message)
        let order = try TokenFixtures.hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
        let zero = [UInt8](repeating: 0, count: 32)
        #expect(key.publicKey.verify(signature: signature, message: message))
        #expect(!key.publicKey.verify(signature: zero + signature.suffix(32), message: message))
        #expect(!key.publicKey.verify(signature: signature.prefix(32) + zero, message: message))
        #expect(!key.publicKey.verify(signature: order + signature.suffix(32), message: message))
        #expect(!key.publicKey.verify(signature: signature.prefix(32) + order, message: message))
        #expect(!key.publicKey.verify(signature: signature.dropLast(), message: message))
        #expect(!key.publicKey.verify(signature: [0x30] + signature, message: message))
    }
}
