/// A JWS signature algorithm the engine signs and verifies with. Nothing else ever verifies.
public enum TokenAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// Ed25519 (RFC 8037), the default.
    case edDSA = "EdDSA"
    /// ECDSA on P-256 with SHA-256; signatures are raw R‖S (64 bytes) on the wire.
    case es256 = "ES256"

    /// The length of a signature on the wire.
    var signatureLength: Int { 64 }
}
