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
