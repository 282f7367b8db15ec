/// The Lua scripts of the Redis store: every change that touches several keys is one script, so it
/// is atomic (two instances racing on one refresh token cannot both win).
///
/// They are loaded with `SCRIPT LOAD` when the store opens and run with `EVALSHA` (loaded again
/// when the server answers `NOSCRIPT`, after a restart or a `SCRIPT FLUSH`).
enum RedisStoreScripts {
    /// Extends a key's TTL to at least `ttl` milliseconds (a key without one gets it).
    private static let extendTTL = """
        local function extend(key, ttl)
            local left = redis.call('PTTL', key)
            if left == -1 or left < ttl then redis.call('PEXPIRE', key, ttl) end
        end
        """

    /// Records `iat` as the subject's latest minted `iat` in its state hash, whose `iat` field was
    /// `latest`, unless that is later.
    private static let recordIssuedAt = """
        local function recordIssuedAt(state, latest, iat, ttl)
            if not tonumber(latest or '') or tonumber(latest) < tonumber(iat) then
                redis.call('HSET', state, 'iat', iat)
            end
            extend(state, ttl)
        end
        """

    /// KEYS: session-subject, session, subject's sessions, expiry index, subject state.
    /// ARGV: subject, session id, ttl ms, created at, expires at, expiry member, field/value pairs.
    /// Returns 1, 0 when the session id is taken, or 2 when the subject was revoked at or after the
    /// session's start (nothing is stored).
    static let createSession = [extendTTL, recordIssuedAt, """
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        local state = redis.call('HMGET', KEYS[5], 'rv', 'iat')
        local revoked = tonumber(state[1] or '')
        if revoked and revoked >= tonumber(ARGV[4]) then return 2 end
        local ttl = tonumber(ARGV[3])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
        local fields = {}
        for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
        redis.call('HSET', KEYS[2], unpack(fields))
        redis.call('PEXPIRE', KEYS[2], ttl)
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
        extend(KEYS[3], ttl)
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
        recordIssuedAt(KEYS[5], state[2], ARGV[4], ttl)
        return 1
        """,
    ].joined(separator: "\n")

    /// KEYS: session, spent token, expiry index, session-subject, subject's sessions, subject state.
    /// ARGV: hash, spent at, replay, new hash, new issued at, new expires at, session expires at,
    /// session ttl ms, now (s), session expiry member, spent expiry member.
    /// Returns 1 when the token was the session's unspent one (and is now spent), else 0: also
    /// when the session is revoked, or its subject was revoked at or after the session's start.
    static let spendRefreshToken = [extendTTL, recordIssuedAt, """
        local session = redis.call('HMGET', KEYS[1], 'rh', 'ri', 'rx', 'rv', 'c')
        if session[1] ~= ARGV[1] or session[4] then return 0 end
        local state = redis.call('HMGET', KEYS[6], 'rv', 'iat')
        local revoked = tonumber(state[1] or '')
        if revoked and revoked >= tonumber(session[5] or '0') then return 0 end
        local issued, expires = session[2], session[3]
        redis.call('HSET', KEYS[1], 'rh', ARGV[4], 'ri', ARGV[5], 'rx', ARGV[6], 'r', ARGV[2], 'e', ARGV[7])
        local ttl = tonumber(ARGV[8])
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[4], ttl)
        extend(KEYS[5], ttl)
        redis.call('HSET', KEYS[2], 'i', issued, 'x', expires, 's', ARGV[2], 'p', ARGV[3])
        local spentTTL = (tonumber(expires) - tonumber(ARGV[9]) + 1) * 1000
        if spentTTL < 1000 then spentTTL = 1000 end
        redis.call('PEXPIRE', KEYS[2], spentTTL)
        redis.call('ZADD', KEYS[3], ARGV[7], ARGV[10])
        redis.call('ZADD', KEYS[3], expires, ARGV[11])
        recordIssuedAt(KEYS[6], state[2], ARGV[2], ttl)
        return 1
        """,
    ].joined(separator: "\n")

    /// KEYS: seq, event stream, live events index, public revocation key, and for a session its
    /// record, for a subject its state.
    /// ARGV: kind (t, s, u), value, revoked at, expires at, reason, ttl ms, times decided (1: store
    /// the given times as they are, for a write-back).
    /// Decides the event's times (a subject's `revoked_at` is at least its latest minted `iat`; a
    /// session's `expires_at` covers its last refresh), stores the event and the public key, and
    /// marks the session revoked, or records the subject's revocation in its state. A subject's
    /// sessions are marked afterwards, in bounded steps (`revokeSubjectSessions`).
    /// Returns {seq, live sessions ended, revoked at, expires at}.
    static let revoke = [extendTTL, """
        local revokedAt = tonumber(ARGV[3])
        local expiresAt = tonumber(ARGV[4])
        local ttl = tonumber(ARGV[6])
        local latest = nil
        if ARGV[1] ~= 't' and KEYS[5] and ARGV[7] ~= '1' then
            latest = tonumber(redis.call('HGET', KEYS[5], ARGV[1] == 'u' and 'iat' or 'r') or '')
        end
        if latest and ARGV[1] == 'u' and latest > revokedAt then
            expiresAt = expiresAt + latest - revokedAt
            ttl = ttl + (latest - revokedAt) * 1000
            revokedAt = latest
        elseif latest and ARGV[1] == 's' and latest + expiresAt - revokedAt > expiresAt then
            ttl = ttl + (latest - revokedAt) * 1000
            expiresAt = latest + expiresAt - revokedAt
        end
        local revokedText = string.format('%d', revokedAt)
        local expiresText = string.format('%d', expiresAt)
        local seq = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], seq .. '-0', 'kind', ARGV[1], 'value', ARGV[2], 'revoked_at', revokedText,
            'expires_at', expiresText, 'reason', ARGV[5])
        redis.call('ZADD', KEYS[3], expiresText, seq .. '|' .. ARGV[1] .. '|' .. revokedText .. '|' .. ARGV[2])
        local current = tonumber(redis.call('GET', KEYS[4]) or '')
        local left = redis.call('PTTL', KEYS[4])
        if left < ttl then left = ttl end
        redis.call('SET', KEYS[4], string.format('%d', math.max(current or revokedAt, revokedAt)), 'PX', left)
        local ended = 0
        if ARGV[1] == 's' and KEYS[5] then
            local session = redis.call('HMGET', KEYS[5], 'rv', 'e')
            if session[2] and not session[1] then
                redis.call('HSET', KEYS[5], 'rv', revokedText)
                if tonumber(session[2]) > revokedAt then ended = 1 end
            end
        elseif ARGV[1] == 'u' and KEYS[5] then
            local previous = tonumber(redis.call('HGET', KEYS[5], 'rv') or '')
            if not previous or previous < revokedAt then redis.call('HSET', KEYS[5], 'rv', revokedText) end
            extend(KEYS[5], ttl)
        end
        return {seq, ended, revokedText, expiresText}
        """,
    ].joined(separator: "\n")

    /// KEYS: key ring, key ring seq, seq, event stream, live events index, purged seq, then the public
    /// revocation key of each revoked key.
    /// ARGV: sealed ring, published ring, changed at, revoked keys (n), then per revoked key: kid,
    /// revoked at, expires at, reason, ttl ms.
    /// Stores the ring and logs the change: a `k` revocation event per revoked key (indexed, with its
    /// public key), then an `r` event holding the published ring, unindexed: it stands until the next
    /// one, which deletes it from the stream and records it as purged (a watcher resuming before it
    /// gets a snapshot, which carries the latest ring). Returns the events' seqs, the ring's last.
    static let saveKeyRing = """
        redis.call('SET', KEYS[1], ARGV[1])
        local seqs = {}
        for i = 0, tonumber(ARGV[4]) - 1 do
            local a = 5 + i * 5
            local seq = redis.call('INCR', KEYS[3])
            redis.call('XADD', KEYS[4], seq .. '-0', 'kind', 'k', 'value', ARGV[a], 'revoked_at', ARGV[a + 1],
                'expires_at', ARGV[a + 2], 'reason', ARGV[a + 3])
            redis.call('ZADD', KEYS[5], ARGV[a + 2], seq .. '|k|' .. ARGV[a + 1] .. '|' .. ARGV[a])
            redis.call('SET', KEYS[7 + i], ARGV[a + 1], 'PX', ARGV[a + 4])
            seqs[#seqs + 1] = seq
        end
        local seq = redis.call('INCR', KEYS[3])
        redis.call('XADD', KEYS[4], seq .. '-0', 'kind', 'r', 'value', ARGV[2], 'revoked_at', ARGV[3],
            'expires_at', '9223372036854775807', 'reason', 'key ring changed')
        local previous = tonumber(redis.call('GET', KEYS[2]) or '')
        if previous then
            redis.call('XDEL', KEYS[4], string.format('%d', previous) .. '-0')
            local purged = tonumber(redis.call('GET', KEYS[6]) or '0') or 0
            if previous > purged then redis.call('SET', KEYS[6], string.format('%d', previous)) end
        end
        redis.call('SET', KEYS[2], string.format('%d', seq))
        seqs[#seqs + 1] = seq
        return seqs
        """

    /// KEYS: the subject's sessions.
    /// ARGV: cursor, sessions per step, revoked at, session key prefix.
    /// One step of a subject revocation: marks revoked the sessions one `ZSCAN` step returns that
    /// began at or before `revoked at`. `ZSCAN` returns every session present from the first step to
    /// the last at least once; one marked twice is counted once.
    /// Returns {next cursor ("0" when done), live sessions ended}.
    static let revokeSubjectSessions = """
        local revokedAt = tonumber(ARGV[3])
        local step = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
        local members = step[2]
        local ended = 0
        for i = 1, #members, 2 do
            if tonumber(members[i + 1]) <= revokedAt then
                local key = ARGV[4] .. members[i]
                local session = redis.call('HMGET', key, 'rv', 'e')
                if session[2] and not session[1] then
                    redis.call('HSET', key, 'rv', ARGV[3])
                    if tonumber(session[2]) > revokedAt then ended = ended + 1 end
                end
            end
        end
        return {step[1], ended}
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
