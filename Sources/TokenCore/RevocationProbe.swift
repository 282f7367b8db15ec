/// What a revocation check needs of a token, in fixed-size words, for a cache that cannot keep the
/// token's claims: its `jti` and `sid` as 16 bytes each, a fingerprint of its `sub`, and its `iat`.
///
/// A probe exists only for a token whose `jti` (and `sid`, when it has one) is in the canonical
/// 22-character form; other tokens are checked with their claims. The subject fingerprint is seeded
/// per process: a probe is meaningful only in the process that made it, and is never stored or sent.
public struct RevocationProbe: Sendable, Hashable {
    /// The `jti`.
    public var tokenID: TokenID
    /// The `sid`; nil when the token has none.
    public var sessionID: TokenID?
    /// `RevocationProbe.fingerprint(ofSubject:)` of the `sub`.
    public var subjectFingerprint: Int
    /// The `iat`.
    public var issuedAt: Int64

    /// Creates a probe from its parts.
    public init(tokenID: TokenID, sessionID: TokenID?, subjectFingerprint: Int, issuedAt: Int64) {
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.subjectFingerprint = subjectFingerprint
        self.issuedAt = issuedAt
    }

    /// The probe of a token with these claims; nil when its `jti` or `sid` is not canonical.
    /// - Parameter claims: The token's claims.
    public init?(_ claims: Claims) {
        guard let tokenID = TokenID(claims.tokenID) else { return nil }
        var sessionID: TokenID?
        if !claims.sessionID.isEmpty {
            guard let id = TokenID(claims.sessionID) else { return nil }
            sessionID = id
        }
        self.init(
            tokenID: tokenID, sessionID: sessionID, subjectFingerprint: Self.fingerprint(ofSubject: claims.subject),
            issuedAt: claims.issuedAt)
    }

    /// The fingerprint of a subject: a 64-bit hash seeded per process. Different subjects may share
    /// one, so a matching fingerprint only says "check with the subject's text".
    /// - Parameter subject: The `sub`.
    /// - Returns: The fingerprint.
    public static func fingerprint(ofSubject subject: String) -> Int {
        var hasher = Hasher()
        hasher.combine(subject)
        return hasher.finalize()
    }
}
