import TokenCore

/// How the token service mints, verifies and keeps tokens. Defaults are the contract's.
public struct TokenServiceConfiguration: Sendable {
    /// The `iss` of every token, checked on every verification.
    public var issuer: String
    /// The algorithm of newly generated signing keys.
    public var algorithm: TokenAlgorithm = .edDSA
    /// Default and maximum access token lifetime, in seconds.
    public var accessTTL: Int64 = 900
    /// Lifetime of a refresh token (and so of a session) from its last refresh, in seconds.
    public var refreshTTL: Int64 = 2_592_000
    /// How long after a refresh token was spent presenting it again is a retry, in seconds (0 = never).
    public var refreshReuseGrace: Int64 = 10
    /// How often the ACTIVE key is replaced, in seconds.
    public var rotateEvery: Int64 = 86_400
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    public var leeway: Int64 = 30
    /// How long clients may cache GetKeys, in seconds.
    public var keysCacheMaxAge: UInt32 = 300
    /// How often WatchRevocations sends a batch when nothing else was sent.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Events queued for one WatchRevocations stream before it is cut off as too slow
    /// (RESOURCE_EXHAUSTED; the client resumes with `since_seq`).
    public var watcherQueueLimit: Int = 65_536
    /// The most sessions ListSessions answers; a subject with more live sessions is answered
    /// RESOURCE_EXHAUSTED (the contract has no paging; Revoke by subject ends them all).
    public var maxListedSessions: Int = 1_000
    /// On a shared store: how long after its last confirmation that it had read everything the
    /// store held this instance vouches for its revocations. Past it WatchRevocations sends no
    /// heartbeat, Validate answers UNAVAILABLE and Health says not serving, until it follows again.
    /// The follower confirms at least twice a second while the store answers.
    public var sharedStateStaleAfter: Duration = .seconds(2)
    /// How often expired rows are purged and the key ring pruned.
    public var maintenanceInterval: Duration = .seconds(60)
    /// The server's version, as Health reports it.
    public var version: String = TokenServiceConfiguration.currentVersion

    /// The version of this build.
    public static let currentVersion = "0.1.0"

    /// Creates a configuration with the contract's defaults.
    /// - Parameter issuer: the `iss` of every token.
    public init(issuer: String) {
        self.issuer = issuer
    }
}
