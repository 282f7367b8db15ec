import CSQLite

extension TokenStoreError {
    /// The store error for a failed SQLite call: constraint violations are the caller's write being
    /// refused, damaged files are `corrupt`, everything else (I/O, full disk, locks) `unavailable`.
    static func sqlite(code: Int32, message: String, context: String) -> Self {
        let detail = "\(context): \(message) (SQLite code \(code))"
        switch code & 0xff {
        case SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE:
            return .rejected(detail)
        case SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FORMAT:
            return .corrupt(detail)
        default:
            return .unavailable(detail)
        }
    }
}
