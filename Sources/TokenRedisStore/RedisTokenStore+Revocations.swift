import TokenCore
import TokenStore

/// Writing the revocation log: the event, its public `revoked:` key and the sessions it marks
/// revoked. Reading the log is in `RedisTokenStore+RevocationLog.swift`.
extension RedisTokenStore {
    public func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        try revocation.check(maxValueLength: Self.maxValueLength)
        var scriptKeys = [keys.seq, keys.events, keys.liveEvents, keys.revoked(revocation.kind, revocation.value)]
        switch revocation.kind {
        case .token, .signingKey, .keyRing:
            break
        case .session:
            if let subject = try await subject(ofSession: revocation.value) {
                scriptKeys.append(keys.session(subject, revocation.value))
            }
        case .subject:
            scriptKeys.append(keys.subjectState(revocation.value))
        }
        let reply = try await run(
            .revoke, keys: scriptKeys,
            arguments: [
                RedisArgument(Self.kindCode(revocation.kind)), RedisArgument(revocation.value),
                RedisArgument(revocation.revokedAt), RedisArgument(revocation.expiresAt),
                RedisArgument(revocation.reason), RedisArgument(ttlMilliseconds(revocation.expiresAt)),
                RedisArgument(revocation.timesAreDecided ? 1 : 0),
            ])
        guard let values = reply.array, values.count == 4, let seq = values[0].int64.flatMap(UInt64.init(exactly:)),
            var ended = values[1].int64.flatMap(Int.init(exactly:)), let revokedAt = values[2].int64,
            let expiresAt = values[3].int64
        else { throw .corrupt("the revoke script answered \(reply)") }
        if revocation.kind == .subject {
            ended = try await revokeSessions(of: revocation.value, revokedAt: revokedAt)
        }
        try await waitForReplicas()
        let event = RevocationEvent(
            seq: seq, kind: revocation.kind, value: revocation.value, revokedAt: revokedAt, expiresAt: expiresAt)
        return RevocationReceipt(event: event, sessionsRevoked: ended)
    }

    /// Marks revoked every session of `subject` that began at or before `revokedAt`, in steps of
    /// about `subjectRevocationStep` sessions, each one short script: a subject with a hundred
    /// thousand sessions never holds Redis up for long. The subject's revocation is stored before
    /// the first step, so meanwhile no session it covers can be refreshed (the spend checks it) and
    /// none listed as live.
    /// - Returns: how many live sessions the steps ended.
    private func revokeSessions(of subject: String, revokedAt: Int64) async throws(TokenStoreError) -> Int {
        var cursor = "0"
        var ended = 0
        repeat {
            let reply = try await run(
                .revokeSubjectSessions, keys: [keys.sessions(subject)],
                arguments: [
                    RedisArgument(cursor), RedisArgument(configuration.subjectRevocationStep),
                    RedisArgument(revokedAt), RedisArgument(keys.subjectBase(subject) + "session:"),
                ])
            guard let values = reply.array, values.count == 2, let next = values[0].string,
                let count = values[1].int64.flatMap(Int.init(exactly:))
            else { throw .corrupt("the session revocation step answered \(reply)") }
            cursor = next
            ended += count
        } while cursor != "0"
        return ended
    }

    static func publicName(_ kind: RevocationEvent.Kind) -> String {
        switch kind {
        case .token: "jti"
        case .session: "sid"
        case .subject: "sub"
        case .signingKey: "kid"
        case .keyRing: "ring"
        }
    }

    static func kindCode(_ kind: RevocationEvent.Kind) -> String {
        switch kind {
        case .token: "t"
        case .session: "s"
        case .subject: "u"
        case .signingKey: "k"
        case .keyRing: "r"
        }
    }

    static func kind(code: String) -> RevocationEvent.Kind? {
        switch code {
        case "t": .token
        case "s": .session
        case "u": .subject
        case "k": .signingKey
        case "r": .keyRing
        default: nil
        }
    }
}

extension RedisStoreScripts {
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
}
