/// A public key (Ed25519 or P-256) that verifies token signatures. Parsed once; immutable.
public final class VerificationKey: Sendable, Hashable {
    let evpKey: EVPKey
    /// The key as SubjectPublicKeyInfo DER (what `GetKeys` publishes as `public_key_der`).
    public let spkiDER: [UInt8]
    /// 32 bytes (Ed25519) or the uncompressed point `04‖X‖Y` (P-256).
    let rawPublicKey: [UInt8]

    init(evpKey: EVPKey) throws(TokenError) {
        self.evpKey = evpKey
        self.spkiDER = try evpKey.spkiDER()
        self.rawPublicKey = try evpKey.rawPublicKey()
    }

    /// Reads a SubjectPublicKeyInfo.
    /// - Parameter spkiDER: One DER `SubjectPublicKeyInfo`, nothing after it.
    /// - Throws: `TokenError.invalidKey` for bad bytes, `TokenError.unsupportedKey` for other key types.
    public convenience init(spkiDER: [UInt8]) throws(TokenError) {
        try self.init(evpKey: EVPKey.publicKey(spkiDER: spkiDER))
    }

    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) block.
    /// - Parameter spkiPEM: The PEM text.
    /// - Throws: `TokenError.invalidKey` or `TokenError.unsupportedKey`.
    public convenience init(spkiPEM: String) throws(TokenError) {
        try self.init(spkiDER: PEM.decode(spkiPEM, label: "PUBLIC KEY"))
    }

    /// Reads a public JWK (`OKP`/`Ed25519` with `x`, or `EC`/`P-256` with `x` and `y`).
    /// - Parameter jwk: The JWK's JSON text; a `d` member is ignored.
    /// - Throws: `TokenError.invalidKey` or `TokenError.unsupportedKey`.
    public convenience init(jwk: String) throws(TokenError) {
        try self.init(spkiDER: JWK(json: jwk).spkiDER)
    }

    /// The algorithm this key verifies, decided by its type.
    public var algorithm: TokenAlgorithm {
        evpKey.algorithm
    }

    /// The key as a PEM `PUBLIC KEY` block.
    public var spkiPEM: String {
        PEM.encode(spkiDER, label: "PUBLIC KEY")
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable key id.
    public var thumbprint: String {
        Base64URL.encode(SHA256.hash(JWK.thumbprintInput(for: self)))
    }

    /// Verifies a signature.
    /// - Parameters:
    ///   - signature: 64 bytes; for ES256 raw R‖S (other lengths or out-of-range values fail).
    ///   - message: The signed bytes.
    /// - Returns: True only for a valid signature by this key.
    public func verify(signature: some Collection<UInt8>, message: some Collection<UInt8>) -> Bool {
        evpKey.verify(signature: Array(signature), message: message)
    }

    /// One JWK (RFC 7517) as JSON text: `kty`, `crv`, `x` (and `y` for P-256), `kid`, `alg`, `use` "sig".
    /// - Parameter keyID: The `kid`.
    /// - Returns: The JSON object text.
    public func jwk(keyID: String) -> String {
        JWK.json(for: self, keyID: keyID)
    }

    public static func == (lhs: VerificationKey, rhs: VerificationKey) -> Bool {
        lhs.spkiDER == rhs.spkiDER
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(spkiDER)
    }
}
