import NIOCore
import TokenCore

/// Sessions and refresh tokens: a session's row in `sessions` holds its unspent refresh token; spent
/// tokens move to `refresh_tokens`, kept for a retry within the grace and for reuse detection.
extension EmbeddedTokenStore {
    private static let sessionColumns =
        "id, subject, audience, scopes, extra_claims, metadata, created_at, refreshed_at, expires_at, revoked_at"

    // Built once: the statement cache looks statements up by their text, on every call.
    private static let selectSessionSQL = "SELECT \(sessionColumns) FROM sessions WHERE id = ?"
    private static let selectCurrentRefreshTokenSQL = """
        SELECT refresh_hash, refresh_issued_at, refresh_expires_at, revoked_at, subject, created_at FROM sessions
        WHERE id = ? AND refresh_hash IS NOT NULL
        """
    private static let selectSubjectRevokedSQL = """
        SELECT 1 FROM revocation_events
        WHERE kind = \(StoreSchema.storedKind(.subject)) AND value = ? AND revoked_at >= ? LIMIT 1
        """
    private static let insertSessionSQL = """
        INSERT INTO sessions (\(sessionColumns), refresh_hash, refresh_issued_at, refresh_expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    public func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?
    ) async throws(TokenStoreError) {
        try await write(try Self.sessionWrite(session, refreshToken: refreshToken))
    }

    public func createSession(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?,
        on eventLoop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, TokenStoreError>) -> Void
    ) {
        let body: PendingWrite<Void>.Body
        do throws(TokenStoreError) {
            body = try Self.sessionWrite(session, refreshToken: refreshToken)
        } catch {
            completion(.failure(error))
            return
        }
        submitWrite(body, on: eventLoop, complete: completion)
    }

    public func session(id: String) async throws(TokenStoreError) -> SessionRecord? {
        try await read { database throws(TokenStoreError) in
            try database.query(
                Self.selectSessionSQL, [.text(id)], row: Self.sessionRecord
            ).first
        }
    }

    public func liveSessions(subject: String, now: Int64, limit: Int) async throws(TokenStoreError) -> [SessionRecord] {
        try await read { database throws(TokenStoreError) in
            try database.query(
                """
                SELECT \(Self.sessionColumns) FROM sessions
                WHERE subject = ? AND revoked_at IS NULL AND expires_at > ?
                ORDER BY created_at DESC, id DESC
                LIMIT ?
                """,
                [.text(subject), .integer(now), .integer(Int64(max(0, limit)))],
                row: Self.sessionRecord)
        }
    }

    public func refreshToken(hash: [UInt8], sessionID: String) async throws(TokenStoreError) -> RefreshTokenRecord? {
        guard (1...Self.maxHashLength).contains(hash.count) else { return nil }
        return try await read { database throws(TokenStoreError) in
            try database.readTransaction { () throws(TokenStoreError) -> RefreshTokenRecord? in
                if let current = try Self.currentRefreshToken(of: sessionID, on: database)?.token,
                    constantTimeEquals(current.hash, hash)
                {
                    return current
                }
                return try database.query(
                    """
                    SELECT issued_at, expires_at, spent_at, replay FROM refresh_tokens
                    WHERE hash = ? AND session_id = ?
                    """,
                    [.blob(hash), .text(sessionID)]
                ) { row in
                    RefreshTokenRecord(
                        hash: hash, sessionID: sessionID, issuedAt: row.int64(0), expiresAt: row.int64(1),
                        spentAt: row.optionalInt64(2), replay: row.blob(3))
                }.first
            }
        }
    }

    public func spendRefreshToken(hash: [UInt8], rotation: RefreshRotation) async throws(TokenStoreError) -> Bool {
        guard (1...Self.maxHashLength).contains(hash.count) else { return false }
        let successor = rotation.successor
        try Self.checkHash(successor.hash)
        return try await write { database throws(TokenStoreError) in
            // The token, the session's revoked mark and its subject's revocations are read in the
            // transaction that spends: a revocation commits either before it (and the spend fails) or
            // after it (and marks the successor's session revoked).
            guard let current = try Self.currentRefreshToken(of: successor.sessionID, on: database),
                constantTimeEquals(current.token.hash, hash), !current.sessionRevoked,
                try !Self.subjectRevoked(current.subject, atOrAfter: current.sessionCreatedAt, on: database)
            else { return false }
            try database.execute(
                """
                UPDATE sessions SET refresh_hash = ?, refresh_issued_at = ?, refresh_expires_at = ?,
                    refreshed_at = ?, expires_at = ?
                WHERE id = ?
                """,
                [
                    .blob(successor.hash), .integer(successor.issuedAt), .integer(successor.expiresAt),
                    .integer(rotation.spentAt), .integer(rotation.sessionExpiresAt), .text(successor.sessionID),
                ])
            try database.execute(
                """
                INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at, spent_at, replay)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .blob(hash), .text(successor.sessionID), .integer(current.token.issuedAt),
                    .integer(current.token.expiresAt), .integer(rotation.spentAt), .blob(rotation.replay),
                ])
            return true
        }
    }

    /// The write that stores `session` with its first refresh token (in the same row).
    /// - Throws: `rejected` when the token belongs to another session or its hash has a bad size.
    static func sessionWrite(
        _ session: SessionRecord,
        refreshToken: RefreshTokenRecord?
    ) throws(TokenStoreError) -> PendingWrite<Void>.Body {
        if let refreshToken {
            guard refreshToken.sessionID == session.sessionID else {
                throw .rejected("the refresh token belongs to another session")
            }
            try checkHash(refreshToken.hash)
        }
        let values: [SQLiteValue] = [
            .text(session.sessionID), .text(session.subject), .text(RecordCoding.encode(session.audience)),
            .text(RecordCoding.encode(session.scopes)), .text(session.extraClaimsJSON),
            .text(RecordCoding.encode(session.metadata)), .integer(session.createdAt),
            .integer(session.refreshedAt), .integer(session.expiresAt), .integer(session.revokedAt),
            refreshToken.map { .blob($0.hash) } ?? .null, .integer(refreshToken?.issuedAt),
            .integer(refreshToken?.expiresAt),
        ]
        return { database throws(TokenStoreError) in
            // A login that read the clock before a revocation of its subject but reaches the writer
            // after it would hold tokens the revocation covers (`iat` <= `revoked_at`) in a session it
            // did not mark: refused, so the caller can log in again.
            guard try !subjectRevoked(session.subject, atOrAfter: session.createdAt, on: database) else {
                throw .revoked("the subject was revoked at or after the session's start")
            }
            try database.execute(insertSessionSQL, values)
        }
    }

    /// A session's unspent refresh token, with what decides whether it may be spent.
    private struct CurrentRefreshToken {
        var token: RefreshTokenRecord
        var sessionRevoked: Bool
        var subject: String
        var sessionCreatedAt: Int64
    }

    /// The unspent refresh token of a session; nil when it has none or is unknown.
    private static func currentRefreshToken(
        of sessionID: String,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> CurrentRefreshToken? {
        try database.query(
            Self.selectCurrentRefreshTokenSQL, [.text(sessionID)]
        ) { row in
            CurrentRefreshToken(
                token: RefreshTokenRecord(
                    hash: row.blob(0), sessionID: sessionID, issuedAt: row.int64(1), expiresAt: row.int64(2)),
                sessionRevoked: row.optionalInt64(3) != nil,
                subject: row.text(4),
                sessionCreatedAt: row.int64(5))
        }.first
    }

    /// Whether a stored revocation of `subject` has a `revoked_at` at or after `time`: it covers a
    /// session that began at `time`.
    private static func subjectRevoked(
        _ subject: String,
        atOrAfter time: Int64,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> Bool {
        try !database.query(selectSubjectRevokedSQL, [.text(subject), .integer(time)]) { _ in () }.isEmpty
    }

    private static func sessionRecord(_ row: SQLiteRow) throws(TokenStoreError) -> SessionRecord {
        SessionRecord(
            sessionID: row.text(0),
            subject: row.text(1),
            audience: try RecordCoding.decodeStrings(row.text(2), column: "audience"),
            scopes: try RecordCoding.decodeStrings(row.text(3), column: "scopes"),
            extraClaimsJSON: row.text(4),
            metadata: try RecordCoding.decodeMap(row.text(5), column: "metadata"),
            createdAt: row.int64(6),
            refreshedAt: row.int64(7),
            expiresAt: row.int64(8),
            revokedAt: row.optionalInt64(9))
    }

    private static func checkHash(_ hash: [UInt8]) throws(TokenStoreError) {
        guard (1...maxHashLength).contains(hash.count) else {
            throw .rejected("a refresh token hash must be 1 to \(maxHashLength) bytes")
        }
    }
}
