import TokenCore

/// Writing the revocation log: a revocation, its event and the sessions it marks revoked, in one
/// transaction. Reading the log is in `EmbeddedTokenStore+RevocationLog.swift`.
extension EmbeddedTokenStore {
    public func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        try revocation.check(maxValueLength: Self.maxValueLength)
        return try await write { database throws(TokenStoreError) in
            let revocation = revocation.timesAreDecided ? revocation : try Self.decideTimes(of: revocation, on: database)
            let event = try Self.insertEvent(revocation, on: database)
            // A session by its id; a subject's sessions that began by its time (all of them, unless
            // its times were decided before a login since: a write-back).
            let target: String
            var values: [SQLiteValue] = [.integer(revocation.revokedAt), .text(revocation.value)]
            switch revocation.kind {
            case .token, .signingKey, .keyRing:
                return RevocationReceipt(event: event, sessionsRevoked: 0)
            case .session:
                target = "id = ?"
            case .subject:
                target = "subject = ? AND created_at <= ?"
                values.append(.integer(revocation.revokedAt))
            }
            // Live sessions are counted; expired ones are marked revoked all the same.
            let ended = try database.execute(
                "UPDATE sessions SET revoked_at = ? WHERE \(target) AND revoked_at IS NULL AND expires_at > ?",
                values + [.integer(revocation.revokedAt)])
            try database.execute("UPDATE sessions SET revoked_at = ? WHERE \(target) AND revoked_at IS NULL", values)
            return RevocationReceipt(event: event, sessionsRevoked: ended)
        }
    }

    /// The times a revocation is stored with, decided in the writer's transaction: no token minted
    /// by a write committed before it may outlive its event.
    ///
    /// A subject's event is refused to tokens with `iat <= revoked_at`, so its `revoked_at` becomes
    /// at least the latest `iat` of the subject's sessions (`refreshed_at`: a login's or the last
    /// refresh's), and its `expires_at` moves by as much. A session's event covers tokens by `sid`
    /// until `expires_at`, which is moved to cover a token minted by the session's last refresh.
    private static func decideTimes(
        of revocation: RevocationRequest,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> RevocationRequest {
        let latestSQL: String
        switch revocation.kind {
        case .token, .signingKey, .keyRing:
            return revocation
        case .session:
            latestSQL = "SELECT refreshed_at FROM sessions WHERE id = ?"
        case .subject:
            latestSQL = "SELECT MAX(refreshed_at) FROM sessions WHERE subject = ?"
        }
        let latest = try database.query(latestSQL, [.text(revocation.value)]) { row in row.optionalInt64(0) }
        guard let latestIssuedAt = latest.first ?? nil else { return revocation }
        var decided = revocation
        if revocation.kind == .subject {
            let shift = max(0, latestIssuedAt - revocation.revokedAt)
            decided.revokedAt += shift
            decided.expiresAt += shift
        } else {
            decided.expiresAt = max(revocation.expiresAt, latestIssuedAt + revocation.expiresAt - revocation.revokedAt)
        }
        return decided
    }

    /// Appends one event to the log.
    static func insertEvent(
        _ revocation: RevocationRequest,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> RevocationEvent {
        try database.execute(
            "INSERT INTO revocation_events (kind, value, revoked_at, expires_at, reason) VALUES (?, ?, ?, ?, ?)",
            [
                .integer(StoreSchema.storedKind(revocation.kind)), .text(revocation.value),
                .integer(revocation.revokedAt), .integer(revocation.expiresAt), .text(revocation.reason),
            ])
        guard let seq = UInt64(exactly: database.lastInsertRowID) else {
            throw .corrupt("a revocation event got a negative seq")
        }
        return event(seq, revocation)
    }

    private static func event(_ seq: UInt64, _ revocation: RevocationRequest) -> RevocationEvent {
        RevocationEvent(
            seq: seq, kind: revocation.kind, value: revocation.value, revokedAt: revocation.revokedAt,
            expiresAt: revocation.expiresAt)
    }

    /// Records that events up to `seq` may be gone: a reader asking for events after an older seq
    /// needs a snapshot.
    static func recordPurged(upTo seq: Int64, on database: SQLiteConnection) throws(TokenStoreError) {
        try database.execute(
            """
            INSERT INTO meta (key, value) VALUES (?, ?)
            ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
            """,
            [.text(StoreSchema.purgedSeqKey), .integer(seq)])
    }
}
