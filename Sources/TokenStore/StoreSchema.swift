import CSQLite
import TokenCore

/// The embedded store's tables, and the connection settings of its writer and readers.
enum StoreSchema {
    /// The schema this code reads and writes (`PRAGMA user_version`): one per migration.
    static let version = Int64(migrations.count)

    /// How long a connection waits for a lock before giving up (milliseconds).
    static let busyTimeoutMilliseconds: Int32 = 5_000

    /// `meta` key of the highest revocation event `seq` that was purged.
    static let purgedSeqKey = "purged_seq"
    /// `meta` key of the revocation log's epoch (written when the log gets one).
    static let logEpochKey = "log_epoch"
    /// `meta` key of the seq of the `.keyRing` event that logged the stored key ring.
    static let keyRingSeqKey = "key_ring_seq"

    /// A revocation kind as stored: the wire enum's number.
    static func storedKind(_ kind: RevocationEvent.Kind) -> Int64 {
        switch kind {
        case .token: 1
        case .session: 2
        case .subject: 3
        case .signingKey: 4
        case .keyRing: 5
        }
    }

    /// The revocation kind stored as `value`; nil for a number no kind has.
    static func kind(stored value: Int64) -> RevocationEvent.Kind? {
        switch value {
        case 1: .token
        case 2: .session
        case 3: .subject
        case 4: .signingKey
        case 5: .keyRing
        default: nil
        }
    }

    /// The statements that bring the schema from version `index` to `index + 1`.
    static let migrations = [versionOne, versionTwo, versionThree, versionFour]

    private static let versionOne = [
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            algorithm TEXT NOT NULL,
            state TEXT NOT NULL,
            not_before INTEGER NOT NULL,
            not_after INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            audience TEXT NOT NULL,
            scopes TEXT NOT NULL,
            extra_claims TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            refreshed_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER
        )
        """,
        "CREATE INDEX sessions_by_subject ON sessions (subject, created_at)",
        "CREATE INDEX sessions_by_expiry ON sessions (expires_at)",
        """
        CREATE TABLE refresh_tokens (
            hash BLOB PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            spent_at INTEGER,
            replay BLOB NOT NULL
        ) WITHOUT ROWID
        """,
        "CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id)",
        "CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at)",
        """
        CREATE TABLE revocation_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind INTEGER NOT NULL,
            value TEXT NOT NULL,
            revoked_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            reason TEXT NOT NULL
        )
        """,
        "CREATE INDEX revocation_events_by_target ON revocation_events (kind, value, expires_at)",
        "CREATE INDEX revocation_events_by_expiry ON revocation_events (expires_at)",
    ]

    /// Version 2 makes an Issue cheaper for the writer: refresh tokens lose their foreign key (checked
    /// on every insert) and their index by session (maintained on every insert). Both served only to
    /// delete a session's tokens with it, which nothing needs: a session never outlives its newest
    /// refresh token, so the expiry purge drops the tokens first, and the session id that begins
    /// every lookup key still finds a session's tokens.
    private static let versionTwo = [
        """
        CREATE TABLE refresh_tokens_v2 (
            hash BLOB PRIMARY KEY,
            session_id TEXT NOT NULL,
            issued_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            spent_at INTEGER,
            replay BLOB NOT NULL
        ) WITHOUT ROWID
        """,
        """
        INSERT INTO refresh_tokens_v2 (hash, session_id, issued_at, expires_at, spent_at, replay)
        SELECT hash, session_id, issued_at, expires_at, spent_at, replay FROM refresh_tokens
        """,
        "DROP TABLE refresh_tokens",
        "ALTER TABLE refresh_tokens_v2 RENAME TO refresh_tokens",
        "CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at)",
    ]

    /// Version 3 halves what an Issue writes: a session's unspent refresh token moves into the
    /// session's row (`refresh_hash` and its times), so Issue inserts one row instead of two, and
    /// `refresh_tokens` keeps only spent tokens, for retries within the grace and reuse detection.
    /// A refresh finds the current token through its session id, which every token carries.
    private static let versionThree = [
        "ALTER TABLE sessions ADD COLUMN refresh_hash BLOB",
        "ALTER TABLE sessions ADD COLUMN refresh_issued_at INTEGER",
        "ALTER TABLE sessions ADD COLUMN refresh_expires_at INTEGER",
        """
        UPDATE sessions SET refresh_hash = token.hash, refresh_issued_at = token.issued_at,
            refresh_expires_at = token.expires_at
        FROM (SELECT hash, session_id, issued_at, expires_at FROM refresh_tokens WHERE spent_at IS NULL) AS token
        WHERE sessions.id = token.session_id
        """,
        "DELETE FROM refresh_tokens WHERE spent_at IS NULL",
    ]

    /// Version 4 changes no table: the revocation log now holds key events (kinds 4, a revoked
    /// signing key, and 5, a key ring change), which an older version cannot read, so it must refuse
    /// the file (it does, by its schema version) rather than fail on the first such event.
    private static let versionFour: [String] = []

    /// The oldest SQLite the statements run on: `DELETE … RETURNING` (purge) needs 3.35,
    /// `UPDATE … FROM` (migration 3) 3.33.
    static let minimumSQLiteVersion: Int32 = 3_035_000

    /// Sets up the writer connection: WAL, `synchronous=FULL` (a commit is on disk when it returns),
    /// and the schema (created, or migrated to `version` in one transaction).
    /// - Throws: `unavailable` when the file cannot be written, also when it holds a newer schema
    ///   or the system's SQLite is older than `minimumSQLiteVersion`.
    static func prepareWriter(_ database: SQLiteConnection) throws(TokenStoreError) {
        guard sqlite3_libversion_number() >= minimumSQLiteVersion else {
            throw .unavailable("SQLite 3.35 or newer is needed; this system has \(String(cString: sqlite3_libversion()))")
        }
        let mode = try database.query("PRAGMA journal_mode = WAL") { row in row.text(0) }
        guard mode.first?.lowercased() == "wal" else {
            throw .unavailable("the database cannot use write-ahead logging (journal mode \(mode.first ?? "?"))")
        }
        try database.execute("PRAGMA synchronous = FULL")
        let stored = try database.query("PRAGMA user_version") { row in row.int64(0) }.first ?? 0
        guard stored >= 0 else {
            throw .corrupt("the database has a negative schema version (\(stored))")
        }
        guard stored <= version else {
            throw .unavailable("the data was written by a newer version (schema \(stored), this one reads \(version))")
        }
        guard stored < version else { return }
        try database.execute("BEGIN IMMEDIATE")
        do throws(TokenStoreError) {
            for migration in migrations[Int(stored)...] {
                for statement in migration {
                    try database.execute(statement)
                }
            }
            try database.execute("PRAGMA user_version = \(version)")
            try database.execute("COMMIT")
        } catch {
            if !database.isAutocommit {
                _ = try? database.execute("ROLLBACK")
            }
            throw error
        }
    }

    /// Sets up a reader connection: it may only read.
    static func prepareReader(_ database: SQLiteConnection) throws(TokenStoreError) {
        try database.execute("PRAGMA query_only = ON")
    }
}
