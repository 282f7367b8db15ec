/// A private signing key (Ed25519 or P-256), parsed once and kept ready to sign. Immutable.
public final class SigningKey: Sendable {
    let evpKey: EVPKey
    /// The matching public key.
    public let publicKey: VerificationKey

    private init(evpKey: EVPKey) throws(TokenError) {
        self.evpKey = evpKey
        self.publicKey = try VerificationKey(evpKey: EVPKey.publicKey(spkiDER: evpKey.spkiDER()))
    }

    /// The algorithm the key signs with, decided by its type.
    public var algorithm: TokenAlgorithm {
        evpKey.algorithm
    }

    /// Generates a fresh key.
    /// - Parameter algorithm: `.edDSA` or `.es256`.
    /// - Returns: The key.
    /// - Throws: `TokenError.cryptoFailure` when libcrypto fails.
    public static func generate(_ algorithm: TokenAlgorithm) throws(TokenError) -> SigningKey {
        try SigningKey(evpKey: EVPKey.generate(algorithm))
    }

    /// Reads a PKCS#8 private key; the algorithm follows from the key.
    /// - Parameter pkcs8DER: One DER `PrivateKeyInfo`, nothing after it.
    /// - Throws: `TokenError.invalidKey` for bad bytes, `TokenError.unsupportedKey` for other key types.
    public convenience init(pkcs8DER: [UInt8]) throws(TokenError) {
        try self.init(evpKey: EVPKey.privateKey(pkcs8DER: pkcs8DER))
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) block.
    /// - Parameter pkcs8PEM: The PEM text.
    /// - Throws: `TokenError.invalidKey` or `TokenError.unsupportedKey`.
    public convenience init(pkcs8PEM: String) throws(TokenError) {
        try self.init(pkcs8DER: PEM.decode(pkcs8PEM, label: "PRIVATE KEY"))
    }

    /// Reads a private JWK (`OKP`/`Ed25519` or `EC`/`P-256` with `d`).
    /// - Parameter jwk: The JWK's JSON text.
    /// - Throws: `TokenError.invalidKey` when it is not a private JWK of a supported key whose `d`
    ///   matches its public members, `TokenError.unsupportedKey` for other key types.
    public convenience init(jwk: String) throws(TokenError) {
        guard let key = try JWK(json: jwk).makePrivateKey() else { throw .invalidKey("JWK without d") }
        try self.init(evpKey: key)
    }

    /// The key as PKCS#8 DER. Secret: store it sealed or owner-readable only.
    /// - Throws: `TokenError.cryptoFailure` when libcrypto fails.
    public func pkcs8DER() throws(TokenError) -> [UInt8] {
        try evpKey.pkcs8DER()
    }

    /// The key as a PEM `PRIVATE KEY` block. Secret.
    /// - Throws: `TokenError.cryptoFailure` when libcrypto fails.
    public func pkcs8PEM() throws(TokenError) -> String {
        PEM.encode(try pkcs8DER(), label: "PRIVATE KEY")
    }

    /// Signs a message.
    /// - Parameter message: The bytes to sign (for a JWS, the signing input).
    /// - Returns: The 64-byte signature; for ES256 in the JOSE form, raw R‖S.
    /// - Throws: `TokenError.cryptoFailure` when libcrypto fails.
    public func sign(_ message: some Collection<UInt8>) throws(TokenError) -> [UInt8] {
        try evpKey.sign(message)
    }
}
