/// What a `TokenValidator` knows and has done: for readiness probes, dashboards and `tokenctl`.
public struct TokenValidatorState: Sendable, Hashable, Encodable {
    /// Whether keys were loaded at least once (the last good keys keep serving afterwards).
    public var keysLoaded: Bool
    /// How many verification keys are loaded.
    public var keyCount: Int
    /// Whether the revocation mirror is current: a batch arrived within `staleAfter`.
    public var mirrorFresh: Bool
    /// The highest revocation `seq` applied to the mirror.
    public var appliedSeq: UInt64
    /// The newest `seq` the service reported.
    public var headSeq: UInt64
    /// Events the mirror is behind the service's head.
    public var lagEvents: UInt64
    /// Milliseconds since the mirror was last known to be current (-1: never).
    public var lagMilliseconds: Int64
    /// Revocations held by the mirror.
    public var revocations: Int
    /// Snapshots applied (1 after the first connection; a resume without a snapshot keeps it).
    public var snapshotsApplied: UInt64
    /// Times the revocation stream was (re)opened.
    public var streamsOpened: UInt64
    /// Verified tokens cached.
    public var cacheEntries: Int
    /// Verifications answered from the cache.
    public var cacheHits: UInt64
    /// Verifications that had to check a signature.
    public var cacheMisses: UInt64
    /// Verifications that asked the service's Validate.
    public var fallbacks: UInt64
    /// Tokens accepted by `.failOpen` without knowing their revocation state.
    public var failOpenAcceptances: UInt64
    /// Tokens refused as `.unknown`.
    public var unknownRefusals: UInt64
    /// GetKeys calls made.
    public var keyFetches: UInt64
    /// Verifications waiting for the revocation stream to publish their token's key.
    public var keyWaiters: Int
    /// Waits for a key that ran out without it (forged `kid`s, or a stream that lags).
    public var keyWaitsRanOut: UInt64

    /// True when the validator can answer on its own: keys loaded and the mirror fresh.
    public var isReady: Bool {
        keysLoaded && mirrorFresh
    }

    /// The share of verifications answered from the cache (0 before any).
    public var cacheHitRate: Double {
        let total = cacheHits + cacheMisses
        return total == 0 ? 0 : Double(cacheHits) / Double(total)
    }

    private enum CodingKeys: String, CodingKey {
        case ready, keysLoaded = "keys_loaded", keyCount = "key_count", mirrorFresh = "mirror_fresh"
        case appliedSeq = "applied_seq", headSeq = "head_seq", lagEvents = "lag_events"
        case lagMilliseconds = "lag_ms", revocations, snapshotsApplied = "snapshots_applied"
        case streamsOpened = "streams_opened", cacheEntries = "cache_entries", cacheHits = "cache_hits"
        case cacheMisses = "cache_misses", cacheHitRate = "cache_hit_rate", fallbacks
        case failOpenAcceptances = "fail_open_acceptances", unknownRefusals = "unknown_refusals"
        case keyFetches = "key_fetches", keyWaiters = "key_waiters", keyWaitsRanOut = "key_waits_ran_out"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isReady, forKey: .ready)
        try container.encode(keysLoaded, forKey: .keysLoaded)
        try container.encode(keyCount, forKey: .keyCount)
        try container.encode(mirrorFresh, forKey: .mirrorFresh)
        try container.encode(appliedSeq, forKey: .appliedSeq)
        try container.encode(headSeq, forKey: .headSeq)
        try container.encode(lagEvents, forKey: .lagEvents)
        try container.encode(lagMilliseconds, forKey: .lagMilliseconds)
        try container.encode(revocations, forKey: .revocations)
        try container.encode(snapshotsApplied, forKey: .snapshotsApplied)
        try container.encode(streamsOpened, forKey: .streamsOpened)
        try container.encode(cacheEntries, forKey: .cacheEntries)
        try container.encode(cacheHits, forKey: .cacheHits)
        try container.encode(cacheMisses, forKey: .cacheMisses)
        try container.encode(cacheHitRate, forKey: .cacheHitRate)
        try container.encode(fallbacks, forKey: .fallbacks)
        try container.encode(failOpenAcceptances, forKey: .failOpenAcceptances)
        try container.encode(unknownRefusals, forKey: .unknownRefusals)
        try container.encode(keyFetches, forKey: .keyFetches)
        try container.encode(keyWaiters, forKey: .keyWaiters)
        try container.encode(keyWaitsRanOut, forKey: .keyWaitsRanOut)
    }
}
