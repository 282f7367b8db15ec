import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import TokenCore
import TokenStore
import TokenTestSupport

@testable import TokenRedisStore

/// What only the Redis store has: native TTLs, the public schema, the sealed key ring, script
/// reloading. The protocol's behaviour is tested on both stores by TokenStoreTests.
@Suite("Redis store", .enabled(if: RedisTestServer.isRequired))
struct RedisTokenStoreTests {
    static let logger = Logger(label: "redis-store-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    static let masterKey = [UInt8](repeating: 7, count: 32)
    /// What a key ring change logs, for tests of the ring itself.
    static let keyRingChange = KeyRingChange(publishedRing: "ring", changedAt: 1_000)

    private let prefix = "test:\(UUID().uuidString):tok:v1:"

    private func open(
        masterKey: [UInt8]? = RedisTokenStoreTests.masterKey,
        clock: any UnixClock = SystemClock()
    ) async throws -> RedisTokenStore {
        try await RedisTokenStore(
            configuration: RedisTokenStoreConfiguration(
                redis: try RedisConfiguration(url: try RedisTestServer.requiredURL()), keyPrefix: prefix,
                masterKey: masterKey, clock: clock),
            eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: Self.logger)
    }

    private func admin() async throws -> RedisConnection {
        try await RedisConnection.connect(
            try RedisConfiguration(url: try RedisTestServer.requiredURL()),
            on: MultiThreadedEventLoopGroup.singleton.next())
    }

    @Test func revocationKeysFollowThePublicSchemaWithTTLsToTheirExpiry() async throws {
        let clock = ManualClock(start: 1_800_000_000)
        let store = try await open(clock: clock)
        let admin = try await admin()
        defer { admin.close() }
        let now = clock.now()
        _ = try await store.revoke(
            RevocationRequest(kind: .token, value: "jti-1", revokedAt: now, expiresAt: now + 600, reason: "r"))
        _ = try await store.revoke(
            RevocationRequest(kind: .session, value: "sid-1", revokedAt: now, expiresAt: now + 3_600, reason: ""))
        _ = try await store.revoke(
            RevocationRequest(kind: .subject, value: "alice", revokedAt: now - 5, expiresAt: now + 60, reason: ""))
        _ = try await store.revoke(
            RevocationRequest(kind: .subject, value: "alice", revokedAt: now, expiresAt: now + 30, reason: ""))

        let values = try await admin.send(
            RedisCommand(
                "MGET", "\(prefix)revoked:jti:jti-1", "\(prefix)revoked:sid:sid-1", "\(prefix)revoked:sub:alice"))
        #expect(values.array?.map(\.string) == ["\(now)", "\(now)", "\(now)"])
        let jtiTTL = try #require(try await admin.send(RedisCommand("PTTL", "\(prefix)revoked:jti:jti-1")).int64)
        #expect((595_000...601_000).contains(jtiTTL))
        let sidTTL = try #require(try await admin.send(RedisCommand("PTTL", "\(prefix)revoked:sid:sid-1")).int64)
        #expect((3_595_000...3_601_000).contains(sidTTL))
        // A later revocation of the subject that expires sooner keeps the longer TTL.
        let subTTL = try #require(try await admin.send(RedisCommand("PTTL", "\(prefix)revoked:sub:alice")).int64)
        #expect((55_000...61_000).contains(subTTL))
        await store.close()
    }

    @Test func redisPyChecksRevokedAndLiveTokensThroughThePublicSchema() async throws {
        let clock = ManualClock(start: 1_800_000_000)
        let store = try await open(clock: clock)
        let now = clock.now()
        _ = try await store.revoke(
            RevocationRequest(kind: .token, value: "revoked-jti", revokedAt: now, expiresAt: now + 600, reason: ""))
        _ = try await store.revoke(
            RevocationRequest(kind: .session, value: "revoked-sid", revokedAt: now, expiresAt: now + 600, reason: ""))
        _ = try await store.revoke(
            RevocationRequest(kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 600, reason: ""))
        await store.close()

        func claims(_ jti: String, _ sid: String, _ sub: String, _ iat: Int64) -> String {
            #"{"jti": "\#(jti)", "sid": "\#(sid)", "sub": "\#(sub)", "iat": \#(iat)}"#
        }
        let result = try PythonScript.run(
            "tools/interop/redis_schema.py",
            arguments: [
                try RedisTestServer.requiredURL(), prefix,
                claims("revoked-jti", "s", "alice", now),
                claims("live-jti", "revoked-sid", "alice", now),
                claims("live-jti", "s", "bob", now - 1),
                claims("live-jti", "s", "bob", now + 1),
                claims("live-jti", "s", "alice", now),
            ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.split(separator: "\n") == ["revoked", "revoked", "revoked", "live", "live"])
    }

    @Test func sessionsAndRefreshTokensExpireWithTheSession() async throws {
        let clock = ManualClock(start: 1_800_000_000)
        let store = try await open(clock: clock)
        let admin = try await admin()
        defer { admin.close() }
        let now = clock.now()
        let session = SessionRecord(
            sessionID: "s1", subject: "carol", audience: [], scopes: [], extraClaimsJSON: "", metadata: [:],
            createdAt: now, refreshedAt: now, expiresAt: now + 1_000)
        let first = RefreshTokenRecord(hash: [1, 2, 3], sessionID: "s1", issuedAt: now, expiresAt: now + 500)
        try await store.createSession(session, refreshToken: first)
        let sessionTTL = try #require(try await admin.send(RedisCommand("PTTL", "\(prefix){carol}:session:s1")).int64)
        #expect((995_000...1_001_000).contains(sessionTTL))
        let rotated = try await store.spendRefreshToken(
            hash: first.hash,
            rotation: RefreshRotation(
                spentAt: now, replay: [9],
                successor: RefreshTokenRecord(hash: [4], sessionID: "s1", issuedAt: now, expiresAt: now + 2_000),
                sessionExpiresAt: now + 2_000))
        #expect(rotated)
        let extended = try #require(try await admin.send(RedisCommand("PTTL", "\(prefix){carol}:session:s1")).int64)
        #expect((1_995_000...2_001_000).contains(extended))
        let spentTTL = try #require(
            try await admin.send(RedisCommand("PTTL", "\(prefix){carol}:spent:s1:010203")).int64)
        #expect((495_000...501_000).contains(spentTTL))
        await store.close()
    }

    @Test func theKeyRingIsSealedAndNeedsTheSameMasterKey() async throws {
        let store = try await open()
        let admin = try await admin()
        defer { admin.close() }
        let secret = [UInt8](repeating: 0xc3, count: 48)
        let ring = [
            StoredSigningKey(
                keyID: "k1", algorithm: "EdDSA", state: "active", notBefore: 100, notAfter: 0, privateKeyPKCS8: secret),
            StoredSigningKey(
                keyID: "k2", algorithm: "ES256", state: "next", notBefore: 200, notAfter: 900,
                privateKeyPKCS8: [1, 2, 3]),
        ]
        #expect(try await store.loadSigningKeys().keys == [])
        _ = try await store.saveSigningKeys(ring, logging: Self.keyRingChange)
        #expect(try await store.loadSigningKeys().keys == ring)
        let stored = try #require(try await admin.send(RedisCommand("GET", "\(prefix)keyring")).bytes)
        #expect(!stored.isEmpty)
        #expect(!Self.contains(stored, secret.prefix(16)))
        await store.close()

        let wrongKey = try await open(masterKey: [UInt8](repeating: 8, count: 32))
        let refused = await #expect(throws: TokenStoreError.self) { try await wrongKey.loadSigningKeys() }
        #expect(refused?.isCorrupt == true)
        await wrongKey.close()

        let noKey = try await open(masterKey: nil)
        let cannotSave = await #expect(throws: TokenStoreError.self) {
            try await noKey.saveSigningKeys(ring, logging: Self.keyRingChange)
        }
        #expect(cannotSave?.isRejected == true)
        await noKey.close()
    }

    @Test func scriptsAreLoadedAgainAfterTheServerForgetsThem() async throws {
        let store = try await open()
        let admin = try await admin()
        defer { admin.close() }
        #expect(try await admin.send(RedisCommand("SCRIPT", "FLUSH")) == .status("OK"))
        let receipt = try await store.revoke(
            RevocationRequest(kind: .token, value: "j", revokedAt: 1, expiresAt: 2_000_000_000, reason: ""))
        #expect(receipt.event.seq == 1)
        await store.close()
    }

    @Test func aClosedStoreAndAnUnreachableServerAreUnavailable() async throws {
        let store = try await open()
        await store.close()
        let closed = await #expect(throws: TokenStoreError.self) { try await store.session(id: "x") }
        #expect(closed?.isUnavailable == true)

        let port = try RefusingPort()
        let unreachable = await #expect(throws: TokenStoreError.self) {
            _ = try await RedisTokenStore(
                configuration: RedisTokenStoreConfiguration(
                    redis: RedisConfiguration(host: "127.0.0.1", port: port.port)),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: Self.logger)
        }
        #expect(unreachable?.isUnavailable == true)
    }

    private static func contains(_ haystack: [UInt8], _ needle: ArraySlice<UInt8>) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains {
            haystack[$0..<($0 + needle.count)].elementsEqual(needle)
        }
    }
}
