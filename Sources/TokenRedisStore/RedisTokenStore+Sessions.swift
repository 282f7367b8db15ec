import NIOCore
import TokenCore
import TokenStore

/// Sessions and refresh tokens: a session is a hash under its subject's hash tag, holding its
/// unspent refresh token; a spent token is a hash of its own, kept for a retry within the grace
/// and for reuse detection. The layout is in docs/redis.md.
extension RedisTokenStore {
    public func createSession(_ session: SessionRecord, refreshToken: RefreshTokenRecord?) async throws(TokenStoreError)
    {
        let creation = try sessionCreation(session, refreshToken: refreshToken)
        let reply = try await run(.createSession, keys: creation.keys, arguments: creation.arguments)
        switch reply.int64 {
        case 1: return
        case 2: throw .revoked("the subject was revoked at or after the session's start")
        default: throw .rejected("session \(session.sessionID) exists")
        }
    }

    /// The keys and arguments of the `createSession` script that stores `session`.
    /// - Throws: `rejected` when the token belongs to another session or a value is too long.
    func sessionCreation(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?
    ) throws(TokenStoreError) -> (keys: [[UInt8]], arguments: [RedisArgument]) {
        try Self.checkText(session.sessionID)
        try Self.checkText(session.subject)
        if let refreshToken {
            guard refreshToken.sessionID == session.sessionID else {
                throw .rejected("the refresh token belongs to another session")
            }
            try Self.checkHash(refreshToken.hash)
        }
        var fields: [RedisArgument] = [
            "sub", RedisArgument(session.subject),
            "aud", RedisArgument(RecordCoding.encode(session.audience)),
            "scp", RedisArgument(RecordCoding.encode(session.scopes)),
            "ext", RedisArgument(session.extraClaimsJSON),
            "md", RedisArgument(RecordCoding.encode(session.metadata)),
            "c", RedisArgument(session.createdAt),
            "r", RedisArgument(session.refreshedAt),
            "e", RedisArgument(session.expiresAt),
        ]
        if let revokedAt = session.revokedAt {
            fields += ["rv", RedisArgument(revokedAt)]
        }
        if let refreshToken {
            fields += [
                "rh", RedisArgument(refreshToken.hash), "ri", RedisArgument(refreshToken.issuedAt),
                "rx", RedisArgument(refreshToken.expiresAt),
            ]
        }
        let subject = session.subject
        let sessionID = session.sessionID
        return (
            keys: [
                keys.sessionSubject(sessionID), keys.session(subject, sessionID), keys.sessions(subject), keys.expiry,
                keys.subjectState(subject),
            ],
            arguments: [
                RedisArgument(subject), RedisArgument(sessionID), RedisArgument(ttlMilliseconds(session.expiresAt)),
                RedisArgument(session.createdAt), RedisArgument(session.expiresAt),
                RedisArgument(RedisStoreKeys.sessionMember(subject, sessionID)),
            ] + fields
        )
    }

    public func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?,
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, TokenStoreError>) -> Void
    ) {
        Task {
            let result: Result<Void, TokenStoreError>
            do throws(TokenStoreError) {
                try await self.createSession(session, refreshToken: refreshToken)
                result = .success(())
            } catch {
                result = .failure(error)
            }
            eventLoop.execute { completion(result) }
        }
    }

    public func session(id: String) async throws(TokenStoreError) -> SessionRecord? {
        guard let subject = try await subject(ofSession: id) else { return nil }
        let replies = try await sendAll([
            RedisCommand("HGETALL", [RedisArgument(keys.session(subject, id))]),
            RedisCommand("HGET", [RedisArgument(keys.subjectState(subject)), "rv"]),
        ])
        guard replies.count == 2, var session = try Self.sessionRecord(id, replies[0]) else { return nil }
        // While a subject revocation marks the sessions step by step, those not marked yet are
        // revoked all the same.
        if session.revokedAt == nil, let subjectRevokedAt = replies[1].int64, subjectRevokedAt >= session.createdAt {
            session.revokedAt = subjectRevokedAt
        }
        return session
    }

    public func liveSessions(subject: String, now: Int64, limit: Int) async throws(TokenStoreError) -> [SessionRecord] {
        guard limit > 0 else { return [] }
        let subjectRevoked = try await send(RedisCommand("HGET", [RedisArgument(keys.subjectState(subject)), "rv"]))
        let subjectRevokedAt = subjectRevoked.int64 ?? .min
        var live: [SessionRecord] = []
        var start = 0
        // Newest first, a page at a time: a subject's list is read only as far as `limit` needs.
        while live.count < limit {
            let listed = try await send(
                RedisCommand(
                    "ZREVRANGE",
                    [RedisArgument(keys.sessions(subject)), RedisArgument(start), RedisArgument(start + 127)]))
            guard let members = listed.array else { throw .corrupt("a subject's session list is not an array") }
            let page = members.compactMap(\.string)
            guard !page.isEmpty else { break }
            start += members.count
            let replies = try await sendAll(
                page.map { RedisCommand("HGETALL", [RedisArgument(keys.session(subject, $0))]) })
            for (id, reply) in zip(page, replies) {
                guard let session = try Self.sessionRecord(id, reply) else { continue }
                if session.revokedAt == nil, session.createdAt > subjectRevokedAt, session.expiresAt > now,
                    live.count < limit
                {
                    live.append(session)
                }
            }
        }
        return live
    }

    public func refreshToken(hash: [UInt8], sessionID: String) async throws(TokenStoreError) -> RefreshTokenRecord? {
        guard (1...Self.maxHashLength).contains(hash.count) else { return nil }
        guard let subject = try await subject(ofSession: sessionID) else { return nil }
        let replies = try await sendAll([
            RedisCommand("HMGET", [RedisArgument(keys.session(subject, sessionID)), "rh", "ri", "rx"]),
            RedisCommand("HMGET", [RedisArgument(keys.spent(subject, sessionID, hash: hash)), "i", "x", "s", "p"]),
        ])
        guard replies.count == 2, let current = replies[0].array, let spent = replies[1].array,
            current.count == 3, spent.count == 4
        else { throw .corrupt("a refresh token lookup got a malformed reply") }
        if let stored = current[0].bytes, constantTimeEquals(stored, hash) {
            guard let issuedAt = current[1].int64, let expiresAt = current[2].int64 else {
                throw .corrupt("a session's refresh token has no times")
            }
            return RefreshTokenRecord(hash: hash, sessionID: sessionID, issuedAt: issuedAt, expiresAt: expiresAt)
        }
        if spent.allSatisfy(\.isNull) { return nil }
        guard let issuedAt = spent[0].int64, let expiresAt = spent[1].int64, let spentAt = spent[2].int64,
            let replay = spent[3].bytes
        else { throw .corrupt("a spent refresh token record is incomplete") }
        return RefreshTokenRecord(
            hash: hash, sessionID: sessionID, issuedAt: issuedAt, expiresAt: expiresAt, spentAt: spentAt,
            replay: replay)
    }

    public func spendRefreshToken(hash: [UInt8], rotation: RefreshRotation) async throws(TokenStoreError) -> Bool {
        guard (1...Self.maxHashLength).contains(hash.count) else { return false }
        let successor = rotation.successor
        try Self.checkHash(successor.hash)
        let sessionID = successor.sessionID
        guard let subject = try await subject(ofSession: sessionID) else { return false }
        let reply = try await run(
            .spendRefreshToken,
            keys: [
                keys.session(subject, sessionID), keys.spent(subject, sessionID, hash: hash), keys.expiry,
                keys.sessionSubject(sessionID), keys.sessions(subject), keys.subjectState(subject),
            ],
            arguments: [
                RedisArgument(hash), RedisArgument(rotation.spentAt), RedisArgument(rotation.replay),
                RedisArgument(successor.hash), RedisArgument(successor.issuedAt), RedisArgument(successor.expiresAt),
                RedisArgument(rotation.sessionExpiresAt), RedisArgument(ttlMilliseconds(rotation.sessionExpiresAt)),
                RedisArgument(configuration.clock.now()),
                RedisArgument(RedisStoreKeys.sessionMember(subject, sessionID)),
                RedisArgument(RedisStoreKeys.spentMember(subject, sessionID, hash: hash)),
            ])
        return reply.int64 == 1
    }

    func subject(ofSession sessionID: String) async throws(TokenStoreError) -> String? {
        guard sessionID.utf8.count <= Self.maxValueLength else { return nil }
        let reply = try await send(RedisCommand("GET", [RedisArgument(keys.sessionSubject(sessionID))]))
        if reply.isNull { return nil }
        guard let subject = reply.string else { throw .corrupt("a session's subject is not text") }
        return subject
    }

    private static func checkText(_ text: String) throws(TokenStoreError) {
        guard text.utf8.count <= maxValueLength else {
            throw .rejected("a session id or subject is longer than \(maxValueLength) bytes")
        }
    }

    private static func checkHash(_ hash: [UInt8]) throws(TokenStoreError) {
        guard (1...maxHashLength).contains(hash.count) else {
            throw .rejected("a refresh token hash must be 1 to \(maxHashLength) bytes")
        }
    }

    private static func sessionRecord(_ id: String, _ reply: RedisValue) throws(TokenStoreError) -> SessionRecord? {
        guard let flat = reply.array, flat.count % 2 == 0 else { throw .corrupt("a session is not a hash") }
        if flat.isEmpty { return nil }
        var fields: [String: RedisValue] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string else { throw .corrupt("a session field name is not text") }
            fields[name] = flat[index + 1]
        }
        func text(_ name: String) throws(TokenStoreError) -> String {
            guard let value = fields[name]?.string else { throw .corrupt("session field \(name) is missing") }
            return value
        }
        func number(_ name: String) throws(TokenStoreError) -> Int64 {
            guard let value = fields[name]?.int64 else { throw .corrupt("session field \(name) is missing") }
            return value
        }
        return SessionRecord(
            sessionID: id,
            subject: try text("sub"),
            audience: try RecordCoding.decodeStrings(try text("aud"), column: "audience"),
            scopes: try RecordCoding.decodeStrings(try text("scp"), column: "scopes"),
            extraClaimsJSON: try text("ext"),
            metadata: try RecordCoding.decodeMap(try text("md"), column: "metadata"),
            createdAt: try number("c"),
            refreshedAt: try number("r"),
            expiresAt: try number("e"),
            revokedAt: fields["rv"] == nil ? nil : try number("rv"))
    }
}

extension RedisStoreScripts {
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
}
