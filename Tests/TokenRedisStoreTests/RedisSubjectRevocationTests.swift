import Foundation
import Logging
import NIOPosix
import Testing
import TokenCore
import TokenStore
import TokenTestSupport

@testable import TokenRedisStore

/// A subject revocation on Redis: its key first, then the subject's sessions in short steps.
@Suite("Redis store: subject revocations", .enabled(if: RedisTestServer.isRequired))
struct RedisSubjectRevocationTests {
    static let logger = Logger(label: "redis-subject-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    private let prefix = "test:\(UUID().uuidString):tok:v1:"

    private func open(_ url: String, clock: any UnixClock) async throws -> RedisTokenStore {
        try await RedisTokenStore(
            configuration: RedisTokenStoreConfiguration(
                redis: try RedisConfiguration(url: url), keyPrefix: prefix, masterKey: nil, clock: clock),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: Self.logger)
    }

    private func session(_ id: String, subject: String, at time: Int64) -> SessionRecord {
        SessionRecord(
            sessionID: id, subject: subject, audience: [], scopes: [], extraClaimsJSON: "", metadata: [:],
            createdAt: time, refreshedAt: time, expiresAt: time + 3_600)
    }

    /// Between the revocation's first script and the step that marks a session, the session is
    /// unmarked: it is revoked all the same (its spend fails, it is not listed, it reads revoked).
    @Test func aSessionNotMarkedYetIsRevokedAllTheSame() async throws {
        let clock = ManualClock(start: 1_800_000_000)
        let url = try RedisTestServer.requiredURL()
        let store = try await open(url, clock: clock)
        let admin = try await RedisConnection.connect(
            try RedisConfiguration(url: url), on: MultiThreadedEventLoopGroup.singleton.next())
        defer { admin.close() }
        let now = clock.now()
        let token = RefreshTokenRecord(hash: [1, 2, 3], sessionID: "s1", issuedAt: now, expiresAt: now + 3_600)
        try await store.createSession(session("s1", subject: "dana", at: now), refreshToken: token)
        let receipt = try await store.revoke(
            RevocationRequest(kind: .subject, value: "dana", revokedAt: now, expiresAt: now + 60, reason: ""))
        #expect(receipt.sessionsRevoked == 1)
        // Undo the step's mark: the state a concurrent reader sees before the step ran.
        #expect(try await admin.send(RedisCommand("HDEL", "\(prefix){dana}:session:s1", "rv")) == .integer(1))

        #expect(try await store.session(id: "s1")?.revokedAt == now)
        #expect(try await store.liveSessions(subject: "dana", now: now, limit: 10).isEmpty)
        let rotation = RefreshRotation(
            spentAt: now, replay: [],
            successor: RefreshTokenRecord(hash: [4], sessionID: "s1", issuedAt: now, expiresAt: now + 3_600),
            sessionExpiresAt: now + 3_600)
        #expect(try await !store.spendRefreshToken(hash: token.hash, rotation: rotation))
        #expect(try await store.refreshToken(hash: token.hash, sessionID: "s1")?.spentAt == nil)
        await store.close()
    }

    /// 100,000 sessions are marked in short scripts: the test counts the scripts Redis ran and reads
    /// the longest from its slow log, on a server of its own.
    @Test func aHundredThousandSessionsAreRevokedInShortSteps() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let clock = ManualClock(start: 1_800_000_000)
        let store = try await open(redis.url, clock: clock)
        let admin = try await RedisConnection.connect(
            try RedisConfiguration(url: redis.url), on: MultiThreadedEventLoopGroup.singleton.next())
        defer { admin.close() }
        // Durability is not what this test is about: no fsync per write.
        #expect(try await admin.send(RedisCommand("CONFIG", "SET", "appendonly", "no")) == .status("OK"))
        let now = clock.now()
        let sessions = 100_000
        let started = ContinuousClock.now
        // Stored with the store's own script, pipelined a thousand at a time.
        for first in stride(from: 0, to: sessions, by: 1_000) {
            let commands = try (first..<min(first + 1_000, sessions)).map { index in
                let creation = try store.sessionCreation(
                    session("s\(index)", subject: "crowd", at: now - 1), refreshToken: nil)
                return try store.scriptCommand(.createSession, keys: creation.keys, arguments: creation.arguments)
            }
            let replies = try await store.client.sendAll(commands)
            #expect(replies.allSatisfy { $0 == .integer(1) }, "\(replies.first { $0 != .integer(1) } ?? .null)")
        }
        let created = ContinuousClock.now
        let stepDigest = try #require(
            try await admin.send(RedisCommand("SCRIPT", "LOAD", RedisStoreScripts.revokeSubjectSessions)).string)
        // Every command over 1 ms goes to the slow log (commands scripts run included); the
        // command statistics count the scripts.
        for (name, value) in [("slowlog-log-slower-than", "1000"), ("slowlog-max-len", "10000")] {
            #expect(try await admin.send(RedisCommand("CONFIG", "SET", name, value)) == .status("OK"))
        }
        #expect(try await admin.send(RedisCommand("SLOWLOG", "RESET")) == .status("OK"))
        #expect(try await admin.send(RedisCommand("CONFIG", "RESETSTAT")) == .status("OK"))

        let receipt = try await store.revoke(
            RevocationRequest(kind: .subject, value: "crowd", revokedAt: now, expiresAt: now + 60, reason: ""))
        let revoked = ContinuousClock.now

        #expect(receipt.sessionsRevoked == sessions)
        // `cmdstat_evalsha:calls=N,usec=U,...`: the revoke script and its steps.
        let statistics = try #require(try await admin.send(RedisCommand("INFO", "commandstats")).string)
        let evalsha = try #require(statistics.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_evalsha:") })
        let fields = Dictionary(
            uniqueKeysWithValues: evalsha.dropFirst("cmdstat_evalsha:".count).split(separator: ",").compactMap {
                field -> (String, Int64)? in
                let parts = field.split(separator: "=")
                guard parts.count == 2, let value = Int64(parts[1]) else { return nil }
                return (String(parts[0]), value)
            })
        let steps = try #require(fields["calls"]) - 1
        let total = fields["usec"] ?? 0
        // Every entry: [id, time, microseconds, [command, args...], client, name].
        let slow = try #require(try await admin.send(RedisCommand("SLOWLOG", "GET", "-1")).array)
        let slowSteps = slow.compactMap { entry -> Int64? in
            guard let fields = entry.array, fields.count >= 4, let arguments = fields[3].array,
                arguments.count >= 2, arguments[0].string?.uppercased() == "EVALSHA",
                arguments[1].string == stepDigest
            else { return nil }
            return fields[2].int64
        }
        let longest = slowSteps.max() ?? 0
        print(
            "100,000 sessions: created in \(created - started), revoked in \(revoked - created): \(steps) steps,"
                + " \(slowSteps.count) over 1 ms, the longest \(longest) µs; all scripts \(total) µs")
        // About 200 sessions a step (a ZSCAN step returns one to two times its COUNT): one script, or a
        // few, marking them all would block Redis for as long as all the steps together.
        #expect(steps >= Int64(sessions / (4 * 200)), "\(steps) step scripts")
        // The bound is loose (a loaded machine stalls any command for tens of milliseconds), far below
        // one script for all (the steps together take 0.6–0.9 s of Redis's time here).
        #expect(longest < 250_000, "the longest step took \(longest) µs")
        #expect(try await store.liveSessions(subject: "crowd", now: now, limit: 10).isEmpty)
        #expect(try await store.session(id: "s99999")?.revokedAt == now)
        await store.close()
    }
}
