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
///
/// This file connects, runs maintenance and sends commands and scripts; each aggregate, with its
/// Lua, is an extension of its own: `+KeyRing`, `+Sessions` (sessions and refresh tokens),
/// `+Revocations` (writing the revocation log), `+RevocationLog` (reading it) and `+Shared` (what
/// instances sharing one Redis need: following the log, the key ring lock).
public final class RedisTokenStore: TokenStore {
    /// The most events one `revocationEvents` call returns, whatever its `limit`.
    public static let maxEventsPerRead = 10_000
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
    let configuration: RedisTokenStoreConfiguration
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
    func run(
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

    /// The TTL of a record that stops mattering at `expiresAt`: until one second after it, at least
    /// one second.
    func ttlMilliseconds(_ expiresAt: Int64) -> Int64 {
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
}

extension RedisStoreScripts {
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
