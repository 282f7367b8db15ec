import CSQLite

/// One SQLite connection with a cache of prepared statements. Not thread-safe: each connection is
/// created, used and closed by the one worker thread that owns it.
final class SQLiteConnection {
    private var handle: OpaquePointer?
    private var statements: [StatementKey: SQLiteStatement] = [:]

    /// Configures SQLite once, before the process opens its first connection: no memory statistics
    /// (they serialize every allocation of every connection on one global mutex). When something
    /// else initialized SQLite first, its settings stand.
    private static let configured: Bool = CSQLite_disableMemoryStatistics() == SQLITE_OK

    /// Opens (creating if needed) the database file at `path`.
    /// - Throws: `unavailable` when the file cannot be opened.
    init(path: String, busyTimeoutMilliseconds: Int32) throws(TokenStoreError) {
        _ = Self.configured
        var database: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &database, flags, nil)
        guard code == SQLITE_OK, let database else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(database)
            throw .unavailable("cannot open the database: \(message) (SQLite code \(code))")
        }
        self.handle = database
        sqlite3_busy_timeout(database, busyTimeoutMilliseconds)
    }

    deinit {
        close()
    }

    /// Finalizes every cached statement and closes the connection; later calls throw `unavailable`.
    func close() {
        for statement in statements.values {
            statement.finalize()
        }
        statements = [:]
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    /// True when no transaction is open (also after SQLite rolled one back on an I/O error).
    var isAutocommit: Bool {
        guard let handle else { return true }
        return sqlite3_get_autocommit(handle) != 0
    }

    /// The rowid of the last row inserted on this connection.
    var lastInsertRowID: Int64 {
        guard let handle else { return 0 }
        return sqlite3_last_insert_rowid(handle)
    }

    /// Runs one statement (cached) with `values` bound to its parameters.
    /// - Returns: the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ values: [SQLiteValue] = []) throws(TokenStoreError) -> Int {
        let statement = try prepared(sql)
        _ = try statement.run(values) { _ throws(TokenStoreError) in () }
        guard let handle else { throw .unavailable("the store is closed") }
        return Int(sqlite3_changes64(handle))
    }

    /// Runs one query (cached) and maps every result row with `row`.
    func query<T>(
        _ sql: String,
        _ values: [SQLiteValue] = [],
        row: (SQLiteRow) throws(TokenStoreError) -> T
    ) throws(TokenStoreError) -> [T] {
        try prepared(sql).run(values, row: row)
    }

    /// Runs `body` in a read transaction, so that all its queries see one snapshot.
    func readTransaction<T>(_ body: () throws(TokenStoreError) -> T) throws(TokenStoreError) -> T {
        try execute("BEGIN DEFERRED")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if !isAutocommit {
                _ = try? execute("ROLLBACK")
            }
            throw error
        }
    }

    private func prepared(_ sql: String) throws(TokenStoreError) -> SQLiteStatement {
        let key = StatementKey(sql: sql)
        if let statement = statements[key] {
            return statement
        }
        guard let handle else { throw .unavailable("the store is closed") }
        let statement = try SQLiteStatement(database: handle, sql: sql)
        statements[key] = statement
        return statement
    }
}

/// SQL text as the statement cache's key. Statements run a few hundred bytes and are looked up on
/// every write, so the key hashes only their length and their first and last 32 bytes, where the
/// texts of different statements differ; equality still compares the whole text.
private struct StatementKey: Hashable {
    let sql: String

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.sql == rhs.sql
    }

    func hash(into hasher: inout Hasher) {
        var sql = sql
        sql.withUTF8 { utf8 in
            hasher.combine(utf8.count)
            let edge = min(utf8.count, 32)
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[..<edge])))
            hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[(utf8.count - edge)...])))
        }
    }
}
