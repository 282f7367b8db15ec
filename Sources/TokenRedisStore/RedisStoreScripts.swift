/// The Lua scripts of the Redis store: every change that touches several keys is one script, so it
/// is atomic (two instances racing on one refresh token cannot both win).
///
/// They are loaded with `SCRIPT LOAD` when the store opens and run with `EVALSHA` (loaded again
/// when the server answers `NOSCRIPT`, after a restart or a `SCRIPT FLUSH`).
enum RedisStoreScripts {
    /// KEYS: session-subject, session, subject's sessions, expiry index.
    /// ARGV: subject, session id, ttl ms, created at, expires at, expiry member, field/value pairs.
    /// Returns 1, or 0 when the session id is taken.
    static let createSession = """
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        local ttl = tonumber(ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
        local fields = {}
        for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('HSET', KEYS[2], unpack(fields))
        redis.call('PEXPIRE', KEYS[2], ttl)
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
        local left = redis.call('PTTL', KEYS[3])
        if left == -1 or left < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
        return 1
        """

    /// KEYS: session, spent token, expiry index, session-subject, subject's sessions.
    /// ARGV: hash, spent at, replay, new hash, new issued at, new expires at, session expires at,
    /// session ttl ms, now (s), session expiry member, spent expiry member.
    /// Returns 1 when the token was the session's unspent one (and is now spent), else 0.
    static let spendRefreshToken = """
        if redis.call('HGET', KEYS[1], 'rh') ~= ARGV[1] then return 0 end
        local issued = redis.call('HGET', KEYS[1], 'ri')
        local expires = redis.call('HGET', KEYS[1], 'rx')
        redis.call('HSET', KEYS[1], 'rh', ARGV[4], 'ri', ARGV[5], 'rx', ARGV[6], 'r', ARGV[2], 'e', ARGV[7])
        local ttl = tonumber(ARGV[8])
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[4], ttl)
        local left = redis.call('PTTL', KEYS[5])
        if left == -1 or left < ttl then redis.call('PEXPIRE', KEYS[5], ttl) end
        redis.call('HSET', KEYS[2], 'i', issued, 'x', expires, 's', ARGV[2], 'p', ARGV[3])
        local spentTTL = (tonumber(expires) - tonumber(ARGV[9]) + 1) * 1000
        if spentTTL < 1000 then spentTTL = 1000 end
        redis.call('PEXPIRE', KEYS[2], spentTTL)
        redis.call('ZADD', KEYS[3], ARGV[7], ARGV[10])
        redis.call('ZADD', KEYS[3], expires, ARGV[11])
        return 1
        """

    /// KEYS: seq, event stream, live events index, public revocation key, and for a session its
    /// record, for a subject its sessions.
    /// ARGV: kind (t, s, u), value, revoked at, expires at, reason, ttl ms, session key prefix.
    /// Returns {seq, live sessions ended}.
    static let revoke = """
        local seq = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], seq .. '-0', 'kind', ARGV[1], 'value', ARGV[2], 'revoked_at', ARGV[3],
            'expires_at', ARGV[4], 'reason', ARGV[5])
        redis.call('ZADD', KEYS[3], ARGV[4], seq .. '|' .. ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[2])
        local ttl = tonumber(ARGV[6])
        local left = redis.call('PTTL', KEYS[4])
        if left > ttl then ttl = left end
        local revokedAt = tonumber(ARGV[3])
        local current = tonumber(redis.call('GET', KEYS[4]) or '')
        if current and current > revokedAt then revokedAt = current end
        redis.call('SET', KEYS[4], string.format('%d', revokedAt), 'PX', ttl)
        local ended = 0
        local function revokeSession(key)
            if redis.call('EXISTS', key) == 1 and redis.call('HEXISTS', key, 'rv') == 0 then
                redis.call('HSET', key, 'rv', ARGV[3])
                if tonumber(redis.call('HGET', key, 'e') or '0') > tonumber(ARGV[3]) then ended = ended + 1 end
            end
        end
        if ARGV[1] == 's' and KEYS[5] then
            revokeSession(KEYS[5])
        elseif ARGV[1] == 'u' and KEYS[5] then
            for _, sid in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do revokeSession(ARGV[7] .. sid) end
        end
        return {seq, ended}
        """

    /// KEYS: expiry index, live events index, event stream, purged seq.
    /// ARGV: now (s), most records per index, key prefix.
    /// Deletes what expired before `now` and records the highest event seq deleted.
    /// Returns {records deleted, events deleted}.
    static let purge = """
        local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
        for _, member in ipairs(members) do
            local kind = string.sub(member, 1, 1)
            local rest = string.sub(member, 3)
            local hex = nil
            if kind == 'r' then hex, rest = string.match(rest, '^(%x+)|(.*)$') end
            local length, tail = string.match(rest or '', '^(%d+)|(.*)$')
            if length then
                length = tonumber(length)
                local subject = string.sub(tail, 1, length)
                local sid = string.sub(tail, length + 1)
                local base = ARGV[3] .. '{' .. subject .. '}:'
                if kind == 's' then
                    redis.call('DEL', base .. 'session:' .. sid, ARGV[3] .. 'session-subject:' .. sid)
                    redis.call('ZREM', base .. 'sessions', sid)
                elseif hex then
                    redis.call('DEL', base .. 'spent:' .. sid .. ':' .. hex)
                end
            end
            redis.call('ZREM', KEYS[1], member)
        end
        local events = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
        local highest = 0
        for _, member in ipairs(events) do
            local seq = tonumber(string.match(member, '^(%d+)|'))
            if seq then
                redis.call('XDEL', KEYS[3], seq .. '-0')
                if seq > highest then highest = seq end
            end
            redis.call('ZREM', KEYS[2], member)
        end
        local purged = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
        if highest > purged then redis.call('SET', KEYS[4], string.format('%d', highest)) end
        return {#members, #events}
        """
}
