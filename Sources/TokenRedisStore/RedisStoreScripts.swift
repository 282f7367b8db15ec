/// The Lua scripts of the Redis store: every change that touches several keys is one script, so it
/// is atomic (two instances racing on one refresh token cannot both win).
///
/// They are loaded with `SCRIPT LOAD` when the store opens and run with `EVALSHA` (loaded again
/// when the server answers `NOSCRIPT`, after a restart or a `SCRIPT FLUSH`). Each script stands
/// beside the Swift that runs it, in an extension of this type: `createSession` and
/// `spendRefreshToken` in `RedisTokenStore+Sessions.swift`, `revoke` and `revokeSubjectSessions` in
/// `+Revocations`, `saveKeyRing` in `+KeyRing`, `purge` in `RedisTokenStore.swift`.
enum RedisStoreScripts {
    /// Extends a key's TTL to at least `ttl` milliseconds (a key without one gets it).
    static let extendTTL = """
        local function extend(key, ttl)
            local left = redis.call('PTTL', key)
            if left == -1 or left < ttl then redis.call('PEXPIRE', key, ttl) end
        end
        """
}
