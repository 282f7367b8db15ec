import TokenCore

extension ValidateResponse {
    /// The wire form of a verification result.
    package init(_ result: VerificationResult) {
        self.init(valid: result.isValid, reason: Reason(result.reason), claims: result.claims.map(WireClaims.init))
    }
}
