import TokenCore

/// The key ring: the signing keys' metadata in `signing_keys`, their private keys in `keys/<kid>.der`
/// (`KeyFileDirectory`), and each change logged as revocation-log events in the same transaction.
extension EmbeddedTokenStore {
    public func loadSigningKeys() async throws(TokenStoreError) -> StoredKeyRing {
        let keyFiles = self.keyFiles
        return try await read { database throws(TokenStoreError) in
            // A key rotation deletes the files of dropped keys right after its commit: when a file
            // is missing, read the (by then new) ring again before calling it an error.
            var missing = ""
            for _ in 0..<3 {
                let (ring, seq) = try database.readTransaction {
                    () throws(TokenStoreError) -> ([StoredSigningKey], Int64) in
                    let ring = try database.query(
                        "SELECT kid, algorithm, state, not_before, not_after FROM signing_keys ORDER BY position"
                    ) { row in
                        StoredSigningKey(
                            keyID: row.text(0), algorithm: row.text(1), state: row.text(2),
                            notBefore: row.int64(3), notAfter: row.int64(4), privateKeyPKCS8: [])
                    }
                    let seq = try database.query(
                        "SELECT value FROM meta WHERE key = ?", [.text(StoreSchema.keyRingSeqKey)]
                    ) { row in row.int64(0) }.first ?? 0
                    return (ring, seq)
                }
                var keys: [StoredSigningKey] = []
                for var key in ring {
                    guard KeyFileDirectory.isValidKeyID(key.keyID) else {
                        throw .corrupt("a stored key id is not a valid file name")
                    }
                    guard let bytes = try keyFiles.readKey(key.keyID) else {
                        missing = key.keyID
                        break
                    }
                    key.privateKeyPKCS8 = bytes
                    keys.append(key)
                }
                if keys.count == ring.count {
                    guard let ringSeq = UInt64(exactly: seq) else { throw .corrupt("the key ring's seq is negative") }
                    return StoredKeyRing(keys: keys, seq: ringSeq)
                }
            }
            throw .corrupt("the key file of \(missing) is missing")
        }
    }

    public func saveSigningKeys(
        _ keys: [StoredSigningKey],
        logging change: KeyRingChange
    ) async throws(TokenStoreError) -> [RevocationEvent] {
        try StoredSigningKey.checkRing(keys)
        try change.check(maxValueLength: Self.maxValueLength)
        let keyFiles = self.keyFiles
        let logger = self.logger
        return try await write(
            { database throws(TokenStoreError) -> [RevocationEvent] in
                // Files first: the metadata never names a key whose file is not on disk.
                for key in keys where (try? keyFiles.readKey(key.keyID)) != key.privateKeyPKCS8 {
                    try keyFiles.writeKey(key.keyID, bytes: key.privateKeyPKCS8)
                }
                try database.execute("DELETE FROM signing_keys")
                for (position, key) in keys.enumerated() {
                    try database.execute(
                        """
                        INSERT INTO signing_keys (kid, position, algorithm, state, not_before, not_after)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                        [
                            .text(key.keyID), .integer(Int64(position)), .text(key.algorithm), .text(key.state),
                            .integer(key.notBefore), .integer(key.notAfter),
                        ])
                }
                return try Self.logKeyRingChange(change, on: database)
            },
            afterCommit: { database in
                // Deletes the files of keys the committed ring no longer names.
                do throws(TokenStoreError) {
                    let ring = try database.query("SELECT kid FROM signing_keys") { row in row.text(0) }
                    try keyFiles.removeFiles(keeping: Set(ring))
                } catch {
                    logger.warning("cannot delete stale key files", metadata: ["error": "\(error)"])
                }
            })
    }

    /// Appends the change's key revocations and its ring event to the log, drops the ring event it
    /// supersedes (recording it as purged) and remembers the new one's seq.
    private static func logKeyRingChange(
        _ change: KeyRingChange,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> [RevocationEvent] {
        var events: [RevocationEvent] = []
        for revocation in change.revokedKeys {
            events.append(try insertEvent(revocation, on: database))
        }
        let ring = try insertEvent(
            RevocationRequest(
                kind: .keyRing, value: change.publishedRing, revokedAt: change.changedAt, expiresAt: .max,
                reason: "key ring changed"),
            on: database)
        events.append(ring)
        let superseded = try database.query(
            "DELETE FROM revocation_events WHERE kind = ? AND seq < ? RETURNING seq",
            [.integer(StoreSchema.storedKind(.keyRing)), .integer(Int64(clamping: ring.seq))]
        ) { row in row.int64(0) }
        if let highest = superseded.max() {
            try recordPurged(upTo: highest, on: database)
        }
        try database.execute(
            """
            INSERT INTO meta (key, value) VALUES (?, ?)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """,
            [.text(StoreSchema.keyRingSeqKey), .integer(Int64(clamping: ring.seq))])
        return events
    }
}
