import Foundation
import Logging
import NIOPosix
import Testing
import TokenCore
import TokenRedisStore
import TokenStore
import TokenTestSupport

/// The store implementations the protocol's tests run against.
enum StoreKind: String, Sendable, CustomTestStringConvertible {
    case embedded
    case redis

    /// The embedded store, and the Redis store when a server is configured (`TOKEN_REDIS_URL`) or
    /// under CI (where a missing server then fails the Redis cases instead of skipping them).
    static var all: [StoreKind] {
        RedisTestServer.isRequired ? [.embedded, .redis] : [.embedded]
    }

    var testDescription: String { rawValue }
}

/// A fresh temporary directory holding one store's data directory, removed by `remove()`; for the
/// Redis store, a fresh key prefix on the test server.
struct StoreFixture {
    /// Which store `openStore()` opens.
    let kind: StoreKind
    /// The temporary directory (removed at the end).
    let root: String
    /// The store's data directory, inside `root`, not yet created.
    let dataDirectory: String
    /// The Redis store's key prefix: unique, so tests running at once never share keys. The test
    /// server is private to the run (tools/test), so the keys are left to it.
    let redisKeyPrefix: String

    init(_ kind: StoreKind = .embedded) throws {
        self.kind = kind
        let id = UUID().uuidString
        root = FileManager.default.temporaryDirectory.path + "/tokenstore-test-" + id
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        dataDirectory = root + "/data"
        redisKeyPrefix = "test:\(id):tok:v1:"
    }

    /// Opens (or reopens) the embedded store on `dataDirectory`.
    func open() async throws(TokenStoreError) -> EmbeddedTokenStore {
        try await EmbeddedTokenStore(directory: dataDirectory, logger: Self.logger)
    }

    /// Opens (or reopens) the store of `kind`: the embedded one on `dataDirectory`, the Redis one on
    /// `TOKEN_REDIS_URL` under `redisKeyPrefix`, with a clock at 0 (the tests' times are small
    /// numbers, which must not turn into TTLs in the past).
    func openStore() async throws -> any TokenStore {
        switch kind {
        case .embedded:
            return try await open()
        case .redis:
            let redis = try RedisConfiguration(url: try RedisTestServer.requiredURL())
            return try await RedisTokenStore(
                configuration: RedisTokenStoreConfiguration(
                    redis: redis, keyPrefix: redisKeyPrefix, masterKey: Self.masterKey, clock: ManualClock(start: 0)),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                logger: Self.logger)
        }
    }

    static let masterKey = [UInt8](repeating: 0x5a, count: 32)

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The permission bits of the file at `path`.
    func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static let logger = Logger(label: "tokenstore-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    static func session(
        _ id: String,
        subject: String = "alice",
        createdAt: Int64 = 1_000,
        expiresAt: Int64 = 10_000,
        revokedAt: Int64? = nil
    ) -> SessionRecord {
        SessionRecord(
            sessionID: id, subject: subject, audience: ["api", "billing"], scopes: ["read", "write:all"],
            extraClaimsJSON: #"{"tier":"gold"}"#, metadata: ["ip": "192.0.2.7", "agent": "curl/8 \"quoted\" ü"],
            createdAt: createdAt, refreshedAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt)
    }

    static func hash(_ seed: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(seed).bigEndian, Array.init) + [UInt8](repeating: 0xab, count: 24)
    }

    static func token(_ seed: Int, session: String, expiresAt: Int64 = 20_000) -> RefreshTokenRecord {
        RefreshTokenRecord(hash: hash(seed), sessionID: session, issuedAt: 1_000, expiresAt: expiresAt)
    }

    #if os(Linux)
    /// This process's threads: their ids and names (from `/proc/self/task`).
    static func threads() throws -> [(id: pid_t, name: String)] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            guard let id = pid_t(task),
                let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            else { return nil }
            return (id, name.trimmingCharacters(in: .newlines))
        }
    }
    #endif

    /// What a key ring change logs, for tests of the ring itself.
    static let keyRingChange = KeyRingChange(publishedRing: "ring", changedAt: 1_000)

    static func key(_ id: String, byte: UInt8) -> StoredSigningKey {
        StoredSigningKey(
            keyID: id, algorithm: "EdDSA", state: "active", notBefore: 100, notAfter: 0,
            privateKeyPKCS8: [0x30, 0x2e, 0x02, 0x01, 0x00] + [UInt8](repeating: byte, count: 41))
    }
}
