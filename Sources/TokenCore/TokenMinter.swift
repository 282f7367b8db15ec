/// Mints access tokens: compact JWS with the header `{"alg":…,"typ":"at+jwt","kid":…}` and the
/// claims of the contract (see `Claims` for how `aud`, `scope` and `sid` are written).
public struct TokenMinter: Sendable {
    /// Creates a minter.
    public init() {}

    /// Signs claims into a token.
    /// - Parameters:
    ///   - claims: The claims; `extraClaimsJSON` is merged in after the registered claims.
    ///   - key: The signing key; its algorithm goes into `alg`.
    ///   - keyID: The `kid` under which the key is published.
    /// - Returns: The compact JWS.
    /// - Throws: `TokenError.invalidClaims`/`invalidJSON` for bad extra claims or scopes,
    ///   `TokenError.malformedToken` when the token would exceed 8 KiB, `TokenError.cryptoFailure`
    ///   when signing fails.
    public func mint(claims: Claims, key: SigningKey, keyID: String) throws(TokenError) -> String {
        var header: [UInt8] = []
        header.reserveCapacity(48 + keyID.utf8.count)
        header.append(contentsOf: #"{"alg":""#.utf8)
        header.append(contentsOf: key.algorithm.rawValue.utf8)
        header.append(contentsOf: #"","typ":"at+jwt","kid":"#.utf8)
        JSONWriter.appendString(keyID, to: &header)
        header.append(UInt8(ascii: "}"))
        let payload = try claims.jwtPayload()

        let length =
            Base64URL.encodedLength(header.count) + Base64URL.encodedLength(payload.count)
            + Base64URL.encodedLength(key.algorithm.signatureLength) + 2
        guard length <= CompactJWS.maxLength else {
            throw .malformedToken("token of \(length) bytes exceeds \(CompactJWS.maxLength)")
        }
        var token: [UInt8] = []
        token.reserveCapacity(length)
        Base64URL.append(header, to: &token)
        token.append(UInt8(ascii: "."))
        Base64URL.append(payload, to: &token)
        let signature = try key.sign(token)
        token.append(UInt8(ascii: "."))
        Base64URL.append(signature, to: &token)
        return String(decoding: token, as: UTF8.self)
    }
}
