import Logging
import NIOCore
import NIOPosix
import Synchronization
import TokenCore
import TokenStore

/// The store of several `tokend` instances sharing one Redis: sessions, refresh-token hashes,
/// revocations (public keys, a monotonic `seq` and an event stream) and the sealed key ring.
///
/// Records carry native TTLs: a revocation key expires when the tokens it covers can no longer be
/// valid, a session and its refresh tokens expire with the session. Every change of several keys is
/// one Lua script, so it is atomic across instances. `purgeExpired` deletes what expired before
/// the given time through expiry indexes (and trims the event stream the same way). The layout is
/// documented in docs/redis.md; the `revoked:` keys are a public, versioned schema.
public final class RedisTokenStore: TokenStore {
    /// The most events one `revocationEvents` call returns, whatever its `limit`.
    public static let maxEventsPerRead = 10_000
    /// The most keys a key ring may hold.
    public static let maxSigningKeys = 64
    /// The longest revocation value or reason, session id or subject, in bytes.
    static let maxValueLength = 4_096
    static let maxHashLength = 64
    /// The most records (and events) one purge script deletes.
    static let purgeRoundRecords = 1_000

    /// "redis".
    public let kind = "redis"

    let client: RedisClient
    let keys: RedisStoreKeys
    let eventLoop: any EventLoop
    let logger: Logger
    /// The replicas connected to the master, as `ROLE` last said (refreshed about once a second).
    let connectedReplicas = Atomic<Int>(0)
    private let configuration: RedisTokenStoreConfiguration
    private let scripts: [Script: String]

    enum Script: CaseIterable, Sendable {
        case createSession, spendRefreshToken, revoke, revokeSubjectSessions, purge, saveKeyRing

        var source: String {
            switch self {
            case .saveKeyRing: RedisStoreScripts.saveKeyRing
            case .createSession: RedisStoreScripts.createSession
            case .spendRefreshToken: RedisStoreScripts.spendRefreshToken
            case .revoke: RedisStoreScripts.revoke
            case .revokeSubjectSessions: RedisStoreScripts.revokeSubjectSessions
            case .purge: RedisStoreScripts.purge
            }
        }
    }

    /// Connects to Redis and loads the scripts.
    /// - Parameters:
    ///   - configuration: the server, key prefix, master key and clock.
    ///   - eventLoop: the loop the connections run on.
    ///   - logger: where the store logs; it never logs keys, tokens or passwords.
    /// - Throws: `unavailable` when Redis cannot be reached or refuses the login (the message says
    ///   which).
    public init(
        configuration: RedisTokenStoreConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        logger: Logger
    ) async throws(TokenStoreError) {
        if let masterKey = configuration.masterKey, masterKey.count != AESGCM.keyLength {
            throw .rejected("the master key must be \(AESGCM.keyLength) bytes")
        }
        let client = RedisClient(configuration: configuration.redis, eventLoop: eventLoop, logger: logger)
        var scripts: [Script: String] = [:]
        do throws(RedisError) {
            try await client.connect()
            for script in Script.allCases {
                scripts[script] = try await Self.load(script, on: client)
            }
        } catch {
            client.close()
            throw Self.storeError(error)
        }
        self.client = client
        self.eventLoop = eventLoop
        self.scripts = scripts
        self.keys = RedisStoreKeys(prefix: configuration.keyPrefix)
        self.configuration = configuration
        self.logger = logger
        logger.info("redis store opened", metadata: ["redis": "\(configuration.redis)"])
        if configuration.redis.replicasToWait > 0 {
            try await refreshConnectedReplicas()
        }
    }

    private static func load(_ script: Script, on client: RedisClient) async throws(RedisError) -> String {
        let reply = try await client.send(RedisCommand("SCRIPT", ["LOAD", RedisArgument(script.source)]))
        guard let sha = reply.string, sha.utf8.count == 40 else {
            if case .error(let message) = reply { throw RedisError.server(message) }
            throw RedisError.protocolViolation("SCRIPT LOAD answered without a digest")
        }
        return sha
    }

    // MARK: Keys

    public func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing {
        let reply = try await send(RedisCommand("MGET", [RedisArgument(keys.keyRing), RedisArgument(keys.keyRingSeq)]))
        guard let values = reply.array, values.count == 2 else { throw .corrupt("MGET answered \(reply)") }
        if values[0].isNull { return StoredKeyRing(keys: [], seq: 0) }
        guard let sealed = values[0].bytes else { throw .corrupt("the key ring is not a string") }
        let seq: UInt64
        if values[1].isNull {
            seq = 0
        } else {
            guard let stored = values[1].int64.flatMap(UInt64.init(exactly:)) else {
                throw .corrupt("the key ring's seq is not a number")
            }
            seq = stored
        }
        guard let masterKey = configuration.masterKey else {
            throw .unavailable("a key ring is stored but no master key was given to open it")
        }
        let plaintext: [UInt8]
        do {
            plaintext = try AESGCM.open(key: masterKey, sealed: sealed, associatedData: keys.keyRing)
        } catch {
            throw .corrupt("the key ring cannot be opened with this master key")
        }
        return StoredKeyRing(keys: try KeyRingCoding.decode(plaintext), seq: seq)
    }

    public func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent] {
        guard keys.count <= Self.maxSigningKeys else {
            throw .rejected("a key ring holds at most \(Self.maxSigningKeys) keys")
        }
        guard let masterKey = configuration.masterKey else {
            throw .rejected("the Redis store needs a master key to store signing keys")
        }
        var keyIDs = Set<String>()
        for key in keys {
            guard keyIDs.insert(key.keyID).inserted else { throw .rejected("duplicate key id \(key.keyID)") }
            guard (1...16_384).contains(key.privateKeyPKCS8.count) else {
                throw .rejected("the private key of \(key.keyID) is empty or too large")
            }
        }
        try change.check(maxValueLength: Self.maxValueLength)
        let sealed: [UInt8]
        do {
            sealed = try AESGCM.seal(
                key: masterKey, plaintext: KeyRingCoding.encode(keys), associatedData: self.keys.keyRing)
        } catch {
            throw .rejected("cannot seal the key ring: \(error)")
        }
        var scriptKeys = [
            self.keys.keyRing, self.keys.keyRingSeq, self.keys.seq, self.keys.events, self.keys.liveEvents,
            self.keys.purgedSeq,
        ]
        var arguments = [
            RedisArgument(sealed), RedisArgument(change.publishedRing), RedisArgument(change.changedAt),
            RedisArgument(change.revokedKeys.count),
        ]
        for revocation in change.revokedKeys {
            scriptKeys.append(self.keys.revoked(.signingKey, revocation.value))
            arguments += [
                RedisArgument(revocation.value), RedisArgument(revocation.revokedAt),
                RedisArgument(revocation.expiresAt), RedisArgument(revocation.reason),
                RedisArgument(ttlMilliseconds(revocation.expiresAt)),
            ]
        }
        let reply = try await run(.saveKeyRing, keys: scriptKeys, arguments: arguments)
        let seqs = reply.array?.compactMap { $0.int64.flatMap(UInt64.init(exactly:)) } ?? []
        guard seqs.count == change.revokedKeys.count + 1, let ringSeq = seqs.last else {
            throw .corrupt("the key ring script answered \(reply)")
        }
        try await waitForReplicas()
        var events = zip(change.revokedKeys, seqs).map { revocation, seq in
            RevocationEvent(
                seq: seq, kind: .signingKey, value: revocation.value, revokedAt: revocation.revokedAt,
                expiresAt: revocation.expiresAt)
        }
        events.append(
            RevocationEvent(
                seq: ringSeq, kind: .keyRing, value: change.publishedRing, revokedAt: change.changedAt,
                expiresAt: .max))
        return events
    }

    // MARK: Sessions and refresh tokens

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

    // MARK: Revocations

    public func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        guard revocation.value.utf8.count <= Self.maxValueLength, revocation.reason.utf8.count <= Self.maxValueLength
        else {
            throw .rejected("a revocation value or reason is longer than \(Self.maxValueLength) bytes")
        }
        guard revocation.kind != .keyRing else { throw .rejected("a key ring change is logged with the key ring") }
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

    // MARK: Maintenance

    public func purgeExpired(now: Int64) async throws(TokenStoreError) {
        var records = 0
        var events = 0
        while true {
            let reply = try await run(
                .purge, keys: [keys.expiry, keys.liveEvents, keys.events, keys.purgedSeq],
                arguments: [RedisArgument(now), RedisArgument(Self.purgeRoundRecords), RedisArgument(keys.prefix)])
            guard let counts = reply.array, counts.count == 2, let round = counts[0].int64,
                let roundEvents = counts[1].int64
            else { throw .corrupt("the purge script answered \(reply)") }
            records += Int(round)
            events += Int(roundEvents)
            guard max(round, roundEvents) >= Self.purgeRoundRecords else { break }
        }
        logger.debug("purged expired records", metadata: ["records": "\(records)", "revocationEvents": "\(events)"])
    }

    public func close() async {
        client.close()
    }

    // MARK: Commands

    /// Runs a script with `EVALSHA`, loading it again when the server lost it.
    private func run(
        _ script: Script,
        keys: [[UInt8]],
        arguments: [RedisArgument]
    ) async throws(TokenStoreError) -> RedisValue {
        let command = try scriptCommand(script, keys: keys, arguments: arguments)
        var reply = try await sendRaw(command)
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            do throws(RedisError) {
                _ = try await Self.load(script, on: client)
            } catch {
                throw Self.storeError(error)
            }
            reply = try await sendRaw(command)
        }
        if case .error(let message) = reply {
            throw replyError(message)
        }
        return reply
    }

    /// The `EVALSHA` command that runs a loaded script.
    func scriptCommand(
        _ script: Script,
        keys: [[UInt8]],
        arguments: [RedisArgument]
    ) throws(TokenStoreError) -> RedisCommand {
        guard let sha = scripts[script] else { throw .unavailable("a script was not loaded") }
        return RedisCommand(
            "EVALSHA", [RedisArgument(sha), RedisArgument(keys.count)] + keys.map(RedisArgument.init) + arguments)
    }

    /// Waits until `replicasToWait` replicas have every write of this connection so far (`WAIT`),
    /// so that an acknowledged revocation survives the loss of the master.
    /// - Throws: `unavailable` when fewer replicas confirmed in time (the write may be stored, but
    ///   is not answered OK).
    func waitForReplicas() async throws(TokenStoreError) {
        let redis = configuration.redis
        // Without replicas (a lone master, or one just promoted) there is nothing to wait for.
        guard redis.replicasToWait > 0, connectedReplicas.load(ordering: .relaxed) > 0 else { return }
        let milliseconds = max(1, redis.replicaWaitTimeout.nanoseconds / 1_000_000)
        let reply = try await send(
            RedisCommand("WAIT", [RedisArgument(redis.replicasToWait), RedisArgument(milliseconds)]))
        guard let confirmed = reply.int64, confirmed >= Int64(redis.replicasToWait) else {
            throw .unavailable("the write reached \(reply.int64 ?? 0) of \(redis.replicasToWait) replicas in time")
        }
    }

    /// Asks the master how many replicas are connected (`ROLE`).
    func refreshConnectedReplicas() async throws(TokenStoreError) {
        let role = try await send(RedisCommand("ROLE"))
        guard let fields = role.array, fields.first?.string == "master", fields.count >= 3 else {
            connectedReplicas.store(0, ordering: .relaxed)
            return
        }
        connectedReplicas.store(fields[2].array?.count ?? 0, ordering: .relaxed)
    }

    /// Sends a command; an error reply throws `unavailable`.
    func sendChecked(_ command: RedisCommand) async throws(TokenStoreError) -> RedisValue {
        try await send(command)
    }

    func send(_ command: RedisCommand) async throws(TokenStoreError) -> RedisValue {
        let reply = try await sendRaw(command)
        if case .error(let message) = reply {
            throw replyError(message)
        }
        return reply
    }

    /// Sends `commands` pipelined, on `client` or the store's own; an error reply throws.
    func sendAll(
        _ commands: [RedisCommand],
        on client: RedisClient? = nil
    ) async throws(TokenStoreError) -> [RedisValue] {
        let client = client ?? self.client
        let replies: [RedisValue]
        do {
            replies = try await client.sendAll(commands)
        } catch {
            throw Self.storeError(error)
        }
        guard replies.count == commands.count else {
            throw .corrupt("\(commands.count) commands got \(replies.count) replies")
        }
        for reply in replies {
            if case .error(let message) = reply {
                throw replyError(message, on: client)
            }
        }
        return replies
    }

    private func sendRaw(_ command: RedisCommand) async throws(TokenStoreError) -> RedisValue {
        do {
            return try await client.send(command)
        } catch {
            throw Self.storeError(error)
        }
    }

    private func expectOK(_ reply: RedisValue) throws(TokenStoreError) {
        guard reply == .status("OK") else { throw .unavailable("redis answered \(reply) instead of OK") }
    }

    private func subject(ofSession sessionID: String) async throws(TokenStoreError) -> String? {
        guard sessionID.utf8.count <= Self.maxValueLength else { return nil }
        let reply = try await send(RedisCommand("GET", [RedisArgument(keys.sessionSubject(sessionID))]))
        if reply.isNull { return nil }
        guard let subject = reply.string else { throw .corrupt("a session's subject is not text") }
        return subject
    }

    /// The TTL of a record that stops mattering at `expiresAt`: until one second after it, at least
    /// one second.
    private func ttlMilliseconds(_ expiresAt: Int64) -> Int64 {
        let seconds = expiresAt.subtractingReportingOverflow(configuration.clock.now())
        guard !seconds.overflow else { return expiresAt > 0 ? Int64.max / 2 : 1_000 }
        let clamped = min(max(seconds.partialValue + 1, 1), Int64.max / 2_000)
        return clamped * 1_000
    }

    static func storeError(_ error: RedisError) -> TokenStoreError {
        .unavailable("\(error)")
    }

    /// The store error of an error reply. A server that says it is a replica (after a failover) is
    /// dropped, so the next command asks the sentinels for the master again.
    private func replyError(_ message: String, on client: RedisClient? = nil) -> TokenStoreError {
        if message.contains("READONLY") {
            (client ?? self.client).reconnect()
        }
        return .unavailable("redis error: \(message)")
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

    // MARK: Records

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
