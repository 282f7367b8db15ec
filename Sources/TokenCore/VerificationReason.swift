/// Why a token is or is not valid; mirrors the contract's `Reason` enum.
public enum VerificationReason: Sendable, Hashable, CaseIterable {
    /// The token is valid (`REASON_UNSPECIFIED`).
    case valid
    /// Not a well-formed token (syntax, size over 8 KiB, JSON, claim types).
    case malformed
    /// The signature does not verify.
    case badSignature
    /// No published key has the token's `kid`.
    case unknownKey
    /// `alg` is not the algorithm of the key named by `kid` (or `none`, HMAC, anything else).
    case unsupportedAlgorithm
    /// Past `exp` (plus leeway).
    case expired
    /// Before `nbf` or `iat` (minus leeway).
    case notYetValid
    /// The caller named an audience the token does not have.
    case wrongAudience
    /// `iss` is not the service's issuer.
    case wrongIssuer
    /// The token, its session or its subject has been revoked.
    case revoked
}
