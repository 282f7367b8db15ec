import CSQLite

/// A prepared statement. Owned by one `SQLiteConnection`, which finalizes it; used on that
/// connection's thread only.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private var finalized = false

    /// Compiles `sql` on `database`.
    init(database: OpaquePointer, sql: String) throws(TokenStoreError) {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw .sqlite(code: code, message: String(cString: sqlite3_errmsg(database)), context: "prepare")
        }
        self.handle = statement
    }

    deinit {
        finalize()
    }

    /// Releases the statement; it must not be used afterwards.
    func finalize() {
        guard !finalized else { return }
        finalized = true
        sqlite3_finalize(handle)
    }

    /// Binds `values` to parameters 1...n, runs the statement to completion, calling `row` for each
    /// result row, and resets it for reuse.
    func run<T>(
        _ values: [SQLiteValue],
        row: (SQLiteRow) throws(TokenStoreError) -> T
    ) throws(TokenStoreError) -> [T] {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
        var rows: [T] = []
        while true {
            let code = sqlite3_step(handle)
            switch code {
            case SQLITE_ROW:
                rows.append(try row(SQLiteRow(statement: self)))
            case SQLITE_DONE:
                return rows
            default:
                throw failure(code, context: "step")
            }
        }
    }

    private static let emptyText: StaticString = ""

    private func bind(_ value: SQLiteValue, at index: Int32) throws(TokenStoreError) {
        let code: Int32
        switch value {
        case .integer(let integer):
            code = sqlite3_bind_int64(handle, index, integer)
        case .text(var text):
            // The string's own UTF-8 bytes, not a NUL-terminated copy: SQLite copies them itself.
            code = text.withUTF8 { utf8 in
                // An empty string still needs a pointer, or SQLite would bind NULL.
                let start = utf8.isEmpty ? nil : utf8.baseAddress
                return UnsafeRawPointer(start ?? Self.emptyText.utf8Start).withMemoryRebound(
                    to: CChar.self, capacity: max(utf8.count, 1)
                ) { bytes in
                    sqlite3_bind_text64(
                        handle, index, bytes, UInt64(utf8.count), CSQLite_transient(), UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            code = bytes.withUnsafeBytes { buffer in
                sqlite3_bind_blob64(handle, index, buffer.baseAddress, UInt64(buffer.count), CSQLite_transient())
            }
        case .null:
            code = sqlite3_bind_null(handle, index)
        }
        guard code == SQLITE_OK else { throw failure(code, context: "bind") }
    }

    private func failure(_ code: Int32, context: String) -> TokenStoreError {
        let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))
        return .sqlite(code: code, message: message, context: context)
    }

    fileprivate func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    fileprivate func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    fileprivate func text(_ column: Int32) -> String {
        // The pointer first: `sqlite3_column_bytes` then counts the converted text.
        guard let pointer = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    fileprivate func blob(_ column: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(handle, column) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// The current result row of a statement; valid only inside the `row` closure of `run`.
struct SQLiteRow {
    fileprivate let statement: SQLiteStatement

    /// The integer in `column` (0-based).
    func int64(_ column: Int32) -> Int64 { statement.int64(column) }

    /// The integer in `column`, or nil when it is NULL.
    func optionalInt64(_ column: Int32) -> Int64? { statement.isNull(column) ? nil : statement.int64(column) }

    /// The text in `column` (invalid UTF-8 is repaired, NULL reads as "").
    func text(_ column: Int32) -> String { statement.text(column) }

    /// The bytes in `column` (NULL reads as empty).
    func blob(_ column: Int32) -> [UInt8] { statement.blob(column) }
}
