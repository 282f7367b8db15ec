import TokenCore

/// How a `RedisTokenStore` reaches Redis and names its keys.
public struct RedisTokenStoreConfiguration: Sendable {
    /// The server.
    public var redis: RedisConfiguration
    /// Prepended to every key: `tok:v1:` makes the public revocation keys
    /// `tok:v1:revoked:jti:<jti>`, `tok:v1:revoked:sid:<sid>` and `tok:v1:revoked:sub:<sub>`.
    public var keyPrefix: String
    /// The AES-256-GCM key (32 bytes) that seals the private signing keys; nil refuses to store or
    /// read a key ring. Secret: never logged.
    public var masterKey: [UInt8]?
    /// The clock that turns expiry times into key TTLs.
    public var clock: any UnixClock
    /// How many sessions one step of a subject revocation marks, about (one short script each).
    public var subjectRevocationStep = 200

    /// Creates a configuration.
    public init(
        redis: RedisConfiguration,
        keyPrefix: String = "tok:v1:",
        masterKey: [UInt8]? = nil,
        clock: any UnixClock = SystemClock()
    ) {
        self.redis = redis
        self.keyPrefix = keyPrefix
        self.masterKey = masterKey
        self.clock = clock
    }
}
