import Foundation
import Testing

@testable import TokenStore

@Suite("Embedded store: schema versions and migrations")
struct SchemaMigrationTests {
    @Test func aVersionOneDatabaseIsMigratedAndKeepsItsSessionsAndRefreshTokens() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let path = try Self.databasePath(fixture)
        // A database as version 1 left it: one session and its refresh token.
        let old = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1_000)
        for statement in StoreSchema.migrations[0] {
            try old.execute(statement)
        }
        try old.execute("PRAGMA user_version = 1")
        try EmbeddedTokenStore.sessionWrite(StoreFixture.session("s1"), refreshToken: StoreFixture.token(1, session: "s1"))(
            old)
        old.close()

        let store = try await fixture.open()
        #expect(try await store.session(id: "s1")?.subject == "alice")
        #expect(try await store.refreshToken(hash: StoreFixture.hash(1))?.sessionID == "s1")
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
        #expect(try migrated.query("SELECT count(*) FROM refresh_tokens") { $0.int64(0) } == [2])
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
