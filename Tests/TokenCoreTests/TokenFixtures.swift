import Foundation
import TokenCore
import TokenTestSupport

/// Paths, keys and token builders shared by the engine's tests.
enum TokenFixtures {
    /// The test vectors kept in the repository (`Tests/Vectors`, with their sources and licences).
    static let vectors = PythonScript.packageRoot.appendingPathComponent("Tests/Vectors")

    static let issuer = "https://tokens.example.test"
    static let now: Int64 = 1_780_000_000

    /// Reads a vector file as a JSON dictionary.
    static func vectorJSON(_ relativePath: String) throws -> [String: Any] {
        let data = try Data(contentsOf: vectors.appendingPathComponent(relativePath))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(relativePath) is not a JSON object")
        }
        return object
    }

    /// Bytes from hex text.
    static func hex(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw FixtureError("odd hex length") }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else {
                throw FixtureError("bad hex")
            }
            return byte
        }
    }

    /// Claims valid at `now` for `issuer`.
    static func claims(subject: String = "alice", audience: [String] = ["api"]) throws -> Claims {
        Claims(
            issuer: issuer,
            subject: subject,
            audience: audience,
            scopes: ["read", "write"],
            tokenID: try TokenID.random().text,
            sessionID: try TokenID.random().text,
            issuedAt: now,
            expiresAt: now + 900,
            notBefore: now
        )
    }

    /// A claims payload like the minter's for `claims` (audience "api", no scope), with `exp` written
    /// as the given JSON text when one is given.
    static func payloadJSON(_ claims: Claims, exp: String? = nil) -> String {
        let expText = exp ?? String(claims.expiresAt)
        return #"{"iss":"\#(claims.issuer)","sub":"\#(claims.subject)","aud":"api","exp":\#(expText),"#
            + #""nbf":\#(claims.notBefore),"iat":\#(claims.issuedAt),"#
            + #""jti":"\#(claims.tokenID)","sid":"\#(claims.sessionID)"}"#
    }

    /// A compact JWS built from raw header and payload text, signed by `key` (or with `signature`).
    static func forge(header: String, payload: String, key: SigningKey?, signature: [UInt8]? = nil) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let bytes = try signature ?? key?.sign(Array(input.utf8)) ?? []
        return input + "." + Base64URL.encode(bytes)
    }

    /// HMAC-SHA256 (RFC 2104), to forge HS256 tokens the way the classic key-confusion attack does.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = SHA256.hash(block.map { $0 ^ 0x36 } + message)
        return SHA256.hash(block.map { $0 ^ 0x5C } + inner)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
