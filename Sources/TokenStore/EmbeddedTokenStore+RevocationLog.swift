import TokenCore

/// Reading the revocation log, and its identity: the epoch lives in the `meta` table
/// (`log_epoch`), the head is the log's AUTOINCREMENT counter.
extension EmbeddedTokenStore {
    public func revocationEvents(after seq: UInt64, limit: Int) async throws(TokenStoreError) -> RevocationEventPage {
        let after = Int64(clamping: seq)
        let count = Int64(max(0, min(limit, Self.maxEventsPerRead)))
        return try await read { database throws(TokenStoreError) in
            try database.readTransaction { () throws(TokenStoreError) -> RevocationEventPage in
                let marks = try Self.logMarks(database)
                // By the primary key: a page costs its own rows, wherever it starts.
                let events = try database.query(
                    """
                    SELECT seq, kind, value, revoked_at, expires_at FROM revocation_events
                    WHERE seq > ? ORDER BY seq LIMIT ?
                    """,
                    [.integer(after), .integer(count)],
                    row: Self.event)
                return RevocationEventPage(events: events, isComplete: after >= marks.purged, epoch: marks.epoch)
            }
        }
    }

    public func activeRevocations(now: Int64) async throws(TokenStoreError) -> RevocationSnapshot {
        try await read { database throws(TokenStoreError) in
            try database.readTransaction { () throws(TokenStoreError) -> RevocationSnapshot in
                let events = try database.query(
                    """
                    SELECT seq, kind, value, revoked_at, expires_at FROM revocation_events
                    WHERE seq IN (
                        SELECT MAX(seq) FROM revocation_events WHERE expires_at >= ? AND kind != ?
                        GROUP BY kind, value
                    )
                    ORDER BY seq
                    """,
                    [.integer(now), .integer(StoreSchema.storedKind(.keyRing))],
                    row: Self.event)
                let epoch = try Self.logMarks(database).epoch
                return RevocationSnapshot(events: events, headSeq: try Self.headSeq(database), epoch: epoch)
            }
        }
    }

    public func revocationLogHead() async throws(TokenStoreError) -> RevocationLogHead {
        try await read { database throws(TokenStoreError) in
            try database.readTransaction { () throws(TokenStoreError) -> RevocationLogHead in
                RevocationLogHead(epoch: try Self.logMarks(database).epoch, seq: try Self.headSeq(database))
            }
        }
    }

    public func startRevocationLogEpoch(replacing epoch: UInt64) async throws(TokenStoreError) -> UInt64 {
        let fresh = try RevocationLogHead.randomEpoch()
        return try await write { database throws(TokenStoreError) -> UInt64 in
            // The one writer runs this whole: nothing changes the epoch between the read and the write.
            let current = try Self.logMarks(database).epoch
            guard current == epoch else { return current }
            try database.execute(
                """
                INSERT INTO meta (key, value) VALUES (?, ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """,
                [.text(StoreSchema.logEpochKey), .integer(Int64(bitPattern: fresh))])
            return fresh
        }
    }

    /// The log's epoch (0 when none was started) and the highest seq purged.
    private static func logMarks(
        _ database: SQLiteConnection
    ) throws(TokenStoreError) -> (epoch: UInt64, purged: Int64) {
        let rows = try database.query(
            "SELECT key, value FROM meta WHERE key IN (?, ?)",
            [.text(StoreSchema.logEpochKey), .text(StoreSchema.purgedSeqKey)]
        ) { row in (row.text(0), row.int64(1)) }
        var marks: (epoch: UInt64, purged: Int64) = (0, 0)
        for (key, value) in rows {
            if key == StoreSchema.logEpochKey {
                marks.epoch = UInt64(bitPattern: value)
            } else {
                marks.purged = value
            }
        }
        return marks
    }

    /// The newest seq handed out: AUTOINCREMENT keeps it, also once its event was purged.
    private static func headSeq(_ database: SQLiteConnection) throws(TokenStoreError) -> UInt64 {
        let head = try database.query(
            "SELECT seq FROM sqlite_sequence WHERE name = 'revocation_events'"
        ) { row in row.int64(0) }.first ?? 0
        guard let headSeq = UInt64(exactly: head) else { throw .corrupt("the head seq is negative") }
        return headSeq
    }

    private static func event(_ row: SQLiteRow) throws(TokenStoreError) -> RevocationEvent {
        guard let seq = UInt64(exactly: row.int64(0)), let kind = StoreSchema.kind(stored: row.int64(1)) else {
            throw .corrupt("a revocation event has a negative seq or an unknown kind")
        }
        return RevocationEvent(
            seq: seq, kind: kind, value: row.text(2), revokedAt: row.int64(3), expiresAt: row.int64(4))
    }
}
