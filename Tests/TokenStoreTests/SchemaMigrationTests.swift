import Foundation
import Testing

@testable import TokenStore

@Suite("Embedded store: schema versions and migrations")
struct SchemaMigrationTests {
    @Test func aVersionOneDatabaseIsMigratedAndKeepsItsSessionsAndRefreshTokens() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let path = try Self.databasePath(fixture)
        // A database as version 1 left it: two sessions, one with a spent and an unspent token.
        let old = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        for statement in StoreSchema.migrations[0] {
            try old.execute(statement)
        }
        try old.execute("PRAGMA user_version = 1")
        for id in ["s1", "s3"] {
            let session = StoreFixture.session(id)
            try old.execute(
                """
                INSERT INTO sessions (id, subject, audience, scopes, extra_claims, metadata, created_at, refreshed_at,
                    expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(id), .text(session.subject), .text(RecordCoding.encode(session.audience)),
                    .text(RecordCoding.encode(session.scopes)), .text(session.extraClaimsJSON),
                    .text(RecordCoding.encode(session.metadata)), .integer(session.createdAt),
                    .integer(session.refreshedAt), .integer(session.expiresAt),
                ])
        }
        let unspent = StoreFixture.token(1, session: "s1")
        let spent = RefreshTokenRecord(
            hash: StoreFixture.hash(5), sessionID: "s1", issuedAt: 900, expiresAt: 9_000, spentAt: 1_000, replay: [7])
        for token in [unspent, spent] {
            try old.execute(
                """
                INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, spent_at, replay)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .blob(token.hash), .text(token.sessionID), .integer(token.issuedAt), .integer(token.expiresAt),
                    .integer(token.spentAt), .blob(token.replay),
                ])
        }
        old.close()

        let store = try await fixture.open()
        #expect(try await store.session(id: "s1") == StoreFixture.session("s1"))
        #expect(try await store.refreshToken(hash: unspent.hash, sessionID: "s1") == unspent)
        #expect(try await store.refreshToken(hash: spent.hash, sessionID: "s1") == spent)
        #expect(try await store.refreshToken(hash: unspent.hash, sessionID: "s3") == nil)
        let successor = StoreFixture.token(6, session: "s1")
        #expect(
            try await store.spendRefreshToken(
                hash: unspent.hash,
                rotation: RefreshRotation(spentAt: 1_500, replay: [8], successor: successor, sessionExpiresAt: 12_000)))
        try await store.createSession(StoreFixture.session("s2"), refreshToken: StoreFixture.token(2, session: "s2"))
        await store.close()

        let migrated = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        defer { migrated.close() }
        #expect(try migrated.query("PRAGMA user_version") { $0.int64(0) } == [StoreSchema.version])
        #expect(try migrated.query("PRAGMA foreign_key_list(refresh_tokens)") { $0.int64(0) }.isEmpty)
        let indexes = try migrated.query(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'refresh_tokens' AND sql IS NOT NULL"
        ) { $0.text(0) }
        #expect(indexes == ["refresh_tokens_by_expiry"])
        // Only spent tokens keep rows of their own; unspent ones live in their session's row.
        #expect(try migrated.query("SELECT hash FROM refresh_tokens ORDER BY hash") { $0.blob(0) } == [unspent.hash, spent.hash])
        #expect(
            try migrated.query("SELECT id FROM sessions WHERE refresh_hash IS NOT NULL ORDER BY id") { $0.text(0) }
                == ["s1", "s2"])
    }

    @Test func aNegativeSchemaVersionIsReportedAsCorrupt() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let database = try SQLiteConnection(path: try Self.databasePath(fixture), busyTimeoutMilliseconds: 1_000)
        try database.execute("PRAGMA user_version = -1")
        database.close()

        let error = await #expect(throws: TokenStoreError.self) { try await fixture.open() }
        #expect(error?.isCorrupt == true)
    }

    /// Creates the data directory and returns the database file's path in it.
    private static func databasePath(_ fixture: StoreFixture) throws -> String {
        try FileManager.default.createDirectory(atPath: fixture.dataDirectory, withIntermediateDirectories: true)
        return fixture.dataDirectory + "/tokend.sqlite"
    }
}
