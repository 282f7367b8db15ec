/// The one routine that verifies access tokens, for the server and the client library alike.
///
/// In order: syntax (`malformed`), `alg` among the engine's algorithms (`unsupportedAlgorithm`),
/// `kid` (`unknownKey`), `alg` equal to the key's algorithm (`unsupportedAlgorithm`), claim types
/// (`malformed`), signature (`badSignature`), then with the claims known: `iss` (`wrongIssuer`),
/// `exp` (`expired`), `nbf`/`iat` (`notYetValid`), audience (`wrongAudience`), revocation (`revoked`).
public struct TokenVerifier: Sendable {
    /// The issuer every token must name.
    public var issuer: String
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    public var leeway: Int64

    /// Creates a verifier.
    /// - Parameters:
    ///   - issuer: The service's issuer (`iss` must equal it).
    ///   - leeway: Clock skew tolerated, in seconds (default 30; negative values count as 0).
    public init(issuer: String, leeway: Int64 = 30) {
        self.issuer = issuer
        self.leeway = max(0, leeway)
    }

    /// Verifies a token. Never throws: every failure is a reason.
    /// - Parameters:
    ///   - token: The compact JWS.
    ///   - keys: The published keys, by `kid`.
    ///   - audience: The audience the caller expects, or nil to skip the check.
    ///   - now: The current time (Unix seconds).
    ///   - revocations: Revocations to honour, or nil.
    /// - Returns: The reason, and the claims when the signature is good; the `kid` with them, and
    ///   for an unknown key the `kid` the token names.
    public func verify(
        _ token: String,
        keys: KeySet,
        audience: String?,
        now: Int64,
        revocations: RevocationSet? = nil
    ) -> VerificationResult {
        guard let jws = try? CompactJWS(parsing: token) else { return VerificationResult(reason: .malformed) }
        guard let algorithm = TokenAlgorithm(rawValue: jws.algorithmName) else {
            return VerificationResult(reason: .unsupportedAlgorithm)
        }
        if let type = jws.header["typ"] {
            guard let text = type.stringValue, text == "at+jwt" || Self.acceptedTypes.contains(text.lowercased()) else {
                return VerificationResult(reason: .malformed)
            }
        }
        guard let keyID = jws.header["kid"]?.stringValue else { return VerificationResult(reason: .unknownKey) }
        guard let key = keys[keyID] else { return VerificationResult(reason: .unknownKey, keyID: keyID) }
        guard key.algorithm == algorithm else { return VerificationResult(reason: .unsupportedAlgorithm) }
        guard let claims = Claims(jwtPayload: jws.payload[...]) else { return VerificationResult(reason: .malformed) }
        guard jws.isSigned(by: key) else { return VerificationResult(reason: .badSignature) }
        return VerificationResult(
            reason: check(claims, audience: audience, now: now, revocations: revocations),
            claims: claims,
            keyID: keyID
        )
    }

    /// `typ` values accepted when present (RFC 9068 §2.1, compared case-insensitively).
    private static let acceptedTypes: Set<String> = ["at+jwt", "application/at+jwt"]

    /// Checks the claims of a token whose signature is already verified (a cached verification):
    /// the same checks, in the same order, as `verify` makes after the signature.
    /// - Parameters:
    ///   - claims: The token's claims.
    ///   - audience: The audience the caller expects, or nil to skip the check.
    ///   - now: The current time (Unix seconds).
    ///   - revocations: Revocations to honour, or nil.
    /// - Returns: The reason (`.valid` when every check passes).
    public func check(
        _ claims: Claims,
        audience: String?,
        now: Int64,
        revocations: RevocationSet? = nil
    ) -> VerificationReason {
        guard claims.issuer == issuer else { return .wrongIssuer }
        let times = checkTimes(
            expiresAt: claims.expiresAt, notBefore: claims.notBefore, issuedAt: claims.issuedAt, now: now)
        guard times == .valid else { return times }
        if let audience, !claims.audience.contains(audience) { return .wrongAudience }
        if let revocations, revocations.isRevoked(claims) { return .revoked }
        return .valid
    }

    /// The time checks of `check`, on the times alone (a cache that keeps no claims): `exp`, then
    /// `nbf` and `iat`, with the leeway.
    /// - Parameters:
    ///   - expiresAt: The `exp`.
    ///   - notBefore: The `nbf` (0 when absent).
    ///   - issuedAt: The `iat`.
    ///   - now: The current time (Unix seconds).
    /// - Returns: `.expired`, `.notYetValid` or `.valid`.
    public func checkTimes(expiresAt: Int64, notBefore: Int64, issuedAt: Int64, now: Int64) -> VerificationReason {
        let (earliest, earliestOverflow) = now.subtractingReportingOverflow(leeway)
        let (latest, latestOverflow) = now.addingReportingOverflow(leeway)
        guard earliestOverflow || expiresAt > earliest else { return .expired }
        guard latestOverflow || (notBefore <= latest && issuedAt <= latest) else { return .notYetValid }
        return .valid
    }
}
