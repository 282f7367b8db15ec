/// One event of the revocation log, as the service stores it and `WatchRevocations` streams it: a
/// revocation, or a change of the published key ring (which travels in the same log, so that
/// watchers get key changes in order with the revocations around them).
public struct RevocationEvent: Sendable, Hashable {
    /// What a revocation names.
    public enum Kind: Sendable, Hashable {
        /// `value` is an access token's `jti`.
        case token
        /// `value` is a session id (`sid`): every token of the session.
        case session
        /// `value` is a subject (`sub`): its tokens with `iat` ≤ `revokedAt`.
        case subject
        /// `value` is a signing key's `kid`: every token naming it (an emergency rotation).
        case signingKey
        /// Not a revocation: the published key ring changed, and `value` holds it as the service
        /// encodes it. It stands until the next one; `expiresAt` is `Int64.max`.
        case keyRing
    }

    /// Sequence number, one more than the previous event's.
    public var seq: UInt64
    /// What `value` names.
    public var kind: Kind
    /// The `jti`, `sid`, `sub` or `kid`, or the encoded key ring.
    public var value: String
    /// When it was revoked (Unix seconds).
    public var revokedAt: Int64
    /// After this no token it covers can still be valid, so the entry may be dropped (Unix seconds).
    public var expiresAt: Int64

    /// Creates an event.
    public init(seq: UInt64, kind: Kind, value: String, revokedAt: Int64, expiresAt: Int64) {
        self.seq = seq
        self.kind = kind
        self.value = value
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
    }
}
