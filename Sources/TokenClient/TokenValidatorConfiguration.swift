import TokenRPC

/// Where a `TokenValidator` finds the service, what it accepts, and how it behaves when it cannot know.
public struct TokenValidatorConfiguration: Sendable {
    /// The service's RPC endpoints, tried in order (failover on connection loss).
    public var endpoints: [RPCEndpoint]
    /// An API key with the `validate` role (WatchRevocations and the Validate fallback need it).
    public var credential: String
    /// The `iss` every token must carry.
    public var issuer: String
    /// The audience every token must carry unless a call names another; nil: not checked.
    public var audience: String?
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    public var leeway: Int64 = 30
    /// How long without a batch from WatchRevocations (heartbeats arrive every second) before the
    /// mirror counts as stale.
    public var staleAfter: Duration = .seconds(5)
    /// What to do while stale when the service cannot answer either.
    public var policy: StalenessPolicy = .failClosed
    /// Verified tokens kept, keyed by a digest of their exact bytes; each costs at most 128 bytes
    /// (about 123), taken as the cache fills.
    public var cacheCapacity: Int = 1_000_000
    /// The least time between two key fetches caused by unknown `kid`s: a flood of forged `kid`s
    /// costs the service at most one GetKeys per cooldown (and each request at most one
    /// `unknownKeyWait` per cooldown).
    public var unknownKeyCooldown: Duration = .seconds(1)
    /// How long a verification of a token whose `kid` is unknown waits for the revocation stream to
    /// publish the key (one rotated in an instant before the token came), while the stream is live,
    /// before it falls back to a key fetch. A forged `kid` costs the service nothing here; after a
    /// wait that ran out, unknown `kid`s do not wait for `unknownKeyCooldown`. Zero turns it off.
    public var unknownKeyWait: Duration = .milliseconds(500)
    /// The most verifications that wait for a key at once; more go to the key fetch at once.
    public var maxKeyWaiters: Int = 1_024
    /// The timeout of a fallback Validate call and of a key fetch.
    public var fallbackTimeout: Duration = .seconds(1)
    /// The first wait before reconnecting the revocation stream; it doubles (with jitter) per failed
    /// attempt up to `maximumReconnectDelay`.
    public var initialReconnectDelay: Duration = .milliseconds(50)
    /// The longest wait between two reconnection attempts of the revocation stream.
    public var maximumReconnectDelay: Duration = .seconds(5)
    /// How often expired revocations and cache entries are dropped.
    public var pruneInterval: Duration = .seconds(60)
    /// How often the state is published through swift-metrics.
    public var metricsInterval: Duration = .seconds(1)
    /// The prefix of the metrics' labels.
    public var metricsPrefix: String = "token_validator"
    /// The RPC client's limits, timeouts and TLS (`rpc.tls`).
    public var rpc: RPCClientConfiguration = .init()

    /// Creates a configuration with the defaults above.
    /// - Parameters:
    ///   - endpoints: the service's RPC endpoints, in order of preference.
    ///   - credential: an API key with the `validate` role.
    ///   - issuer: the service's issuer.
    public init(endpoints: [RPCEndpoint], credential: String, issuer: String) {
        self.endpoints = endpoints
        self.credential = credential
        self.issuer = issuer
    }
}
