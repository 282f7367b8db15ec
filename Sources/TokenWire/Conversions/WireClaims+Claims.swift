import TokenCore

extension WireClaims {
    /// The wire form of a token's claims.
    /// - Parameter claims: the claims.
    public init(_ claims: Claims) {
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
