import TokenCore
import TokenWire

extension TokenService {
    /// Verifies a token with the shared verification routine, then checks the revocations held in
    /// memory. Never touches the store.
    func validate(_ request: ValidateRequest) -> ValidateResponse {
        let now = clock.now()
        let audience = request.audience.isEmpty ? nil : request.audience
        var result = verifier.verify(request.token, keys: keys.snapshot.keySet, audience: audience, now: now)
        if result.isValid, let claims = result.claims,
            revocations.isRevoked(
                tokenID: claims.tokenID,
                sessionID: claims.sessionID,
                subject: claims.subject,
                issuedAt: claims.issuedAt
            )
        {
            result = VerificationResult(reason: .revoked, claims: claims)
        }
        return ValidateResponse(result)
    }
}

extension ValidateResponse {
    /// The wire form of a verification result.
    init(_ result: VerificationResult) {
        self.init(valid: result.isValid, reason: Reason(result.reason), claims: result.claims.map(WireClaims.init))
    }
}

extension WireClaims {
    /// The wire form of a token's claims.
    init(_ claims: Claims) {
        self.init(
            subject: claims.subject,
            issuer: claims.issuer,
            audience: claims.audience,
            scopes: claims.scopes,
            tokenID: claims.tokenID,
            sessionID: claims.sessionID,
            issuedAt: claims.issuedAt,
            expiresAt: claims.expiresAt,
            notBefore: claims.notBefore,
            extraClaimsJSON: claims.extraClaimsJSON
        )
    }
}

extension Reason {
    /// The wire reason of a verification outcome.
    init(_ reason: VerificationReason) {
        switch reason {
        case .valid: self = .unspecified
        case .malformed: self = .malformed
        case .badSignature: self = .badSignature
        case .unknownKey: self = .unknownKey
        case .unsupportedAlgorithm: self = .unsupportedAlgorithm
        case .expired: self = .expired
        case .notYetValid: self = .notYetValid
        case .wrongAudience: self = .wrongAudience
        case .wrongIssuer: self = .wrongIssuer
        case .revoked: self = .revoked
        }
    }
}
