import TokenCore
import TokenRPC
import TokenWire

extension TokenService {
    /// Verifies a token with the shared verification routine, then checks the revocations held in
    /// memory. Never touches the store.
    /// - Throws: `UNAVAILABLE` on a shared store whose revocations this instance could not confirm
    ///   it follows within `sharedStateStaleAfter`: its memory may be missing revocations.
    func validate(_ request: ValidateRequest) throws(RPCError) -> ValidateResponse {
        ValidateResponse(try verification(of: request.token, audience: request.audience.isEmpty ? nil : request.audience))
    }

    /// What Validate answers for `token` (and the HTTP port's introspection).
    /// - Throws: `UNAVAILABLE` as `validate`.
    func verification(of token: String, audience: String?) throws(RPCError) -> VerificationResult {
        guard revocations.isCurrent() else {
            throw .unavailable("revocation state unknown: the shared store cannot be followed")
        }
        let now = clock.now()
        var result = verifier.verify(token, keys: keys.snapshot.keySet, audience: audience, now: now)
        // A revoked key's tokens are refused whatever their signature: the key is no longer
        // published (unknown here), or not yet dropped from this instance's ring (another one
        // revoked it and the reload is under way).
        if let keyID = result.keyID, result.isValid || result.reason == .unknownKey,
            revocations.isRevoked(keyID: keyID, claims: result.claims)
        {
            result = VerificationResult(reason: .revoked, claims: result.claims)
        }
        return result
    }
}
