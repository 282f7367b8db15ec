import Logging
import NIOCore
import Synchronization
import TokenCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The durable store of a single `tokend`: SQLite (WAL, `synchronous=FULL`) in `tokend.sqlite`
/// under a data directory, and the private signing keys in `keys/<kid>.der`, readable by the owner
/// only.
///
/// Writes go to one writer connection on its own thread, which commits every pending write in one
/// transaction (group commit: one fsync for the batch) and acknowledges each only after the commit
/// returned. Reads go to a few reader connections, each on its own thread, and never wait for the
/// writer; a read goes to the reader with the fewest reads outstanding, so a long one (a listing)
/// holds up no other.
public final class EmbeddedTokenStore: TokenStore {
    /// The most events one `revocationEvents` call returns, whatever its `limit`.
    public static let maxEventsPerRead = 10_000
    /// The most keys a key ring may hold.
    public static let maxSigningKeys = 64
    /// The longest revocation value or reason, and the longest refresh token hash, in bytes.
    static let maxValueLength = 4_096
    static let maxHashLength = 64

    /// Group commit under load: after a batch of at least 4 writes, the writer holds the next
    /// transaction open for up to half a millisecond (or until 256 writes wait), like PostgreSQL's
    /// `commit_delay`. Fewer, larger commits cost less CPU per write; a lone write never waits.
    static let commitWindow = JobQueue<any WriteJob>.Gathering(window: .microseconds(500), jobs: 256, busyBatch: 4)

    /// "embedded".
    public let kind = "embedded"

    private typealias ReadJob = @Sendable (SQLiteConnection) -> Void

    /// Reader connections by default: one per core, at least 2 and at most 4.
    public static var defaultReaderCount: Int {
        min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 2), 4)
    }

    private let writer: SQLiteWorker<any WriteJob>
    private let readers: [SQLiteWorker<ReadJob>]
    /// Reads submitted to each reader and not yet finished.
    private let outstandingReads: Mutex<[Int]>
    private let keyFiles: KeyFileDirectory
    private let logger: Logger

    /// Opens the store in `directory`, creating the directory (mode 0700), the database and its
    /// schema on first use.
    /// - Parameters:
    ///   - directory: the data directory.
    ///   - readerCount: how many reader connections (threads) serve reads, at least 1.
    ///   - logger: where the store logs; it never logs keys or tokens.
    /// - Throws: `unavailable` when the directory or database cannot be created, opened or
    ///   written, `corrupt` when the database file is damaged.
    public init(
        directory: String,
        readerCount: Int = EmbeddedTokenStore.defaultReaderCount,
        logger: Logger
    ) async throws(TokenStoreError) {
        // Owner-only: the directory, the key directory and the database files (SQLite gives its
        // -wal and -shm files the database file's mode), whatever they were made with.
        var tightened: [(path: String, mode: mode_t)] = []
        if let mode = try KeyFileDirectory.createDirectory(directory) {
            tightened.append((directory, mode))
        }
        let keyFiles = try KeyFileDirectory(path: directory + "/keys")
        if let mode = keyFiles.tightenedMode {
            tightened.append((keyFiles.path, mode))
        }
        let path = directory + "/tokend.sqlite"
        for file in [path, path + "-wal", path + "-shm"] {
            if let mode = try KeyFileDirectory.makeOwnerOnly(file: file, create: file == path) {
                tightened.append((file, mode))
            }
        }
        for (tightenedPath, mode) in tightened {
            logger.warning(
                "made readable by its owner only",
                metadata: ["path": "\(tightenedPath)", "mode_was": "0\(String(mode, radix: 8))"])
        }
        let writer = try await SQLiteWorker<any WriteJob>(
            name: "store writer",
            path: path,
            busyTimeoutMilliseconds: StoreSchema.busyTimeoutMilliseconds,
            gathering: Self.commitWindow,
            // The writer waits for jobs (and gathers them) without preempting the thread running on
            // its core: under load it gathers until a core is free instead of interrupting the event
            // loops. While it commits a batch (fsync included) it preempts as usual, so the answers
            // go out without delay.
            setup: { database throws(TokenStoreError) in
                try StoreSchema.prepareWriter(database)
                WorkerThread.preemptsOnWakeup(false)
            },
            process: { jobs, database in
                WorkerThread.preemptsOnWakeup(true)
                defer { WorkerThread.preemptsOnWakeup(false) }
                WriteBatch.commit(jobs, on: database, logger: logger)
            }
        )
        var readers: [SQLiteWorker<ReadJob>] = []
        do {
            for index in 0..<max(readerCount, 1) {
                readers.append(
                    try await SQLiteWorker<ReadJob>(
                        name: "store reader \(index + 1)",
                        path: path,
                        busyTimeoutMilliseconds: StoreSchema.busyTimeoutMilliseconds,
                        setup: { database throws(TokenStoreError) in try StoreSchema.prepareReader(database) },
                        process: { jobs, database in
                            for job in jobs {
                                job(database)
                            }
                        }
                    )
                )
            }
        } catch {
            for reader in readers {
                await reader.close()
            }
            await writer.close()
            throw error
        }
        self.writer = writer
        self.readers = readers
        self.outstandingReads = Mutex(Array(repeating: 0, count: readers.count))
        self.keyFiles = keyFiles
        self.logger = logger
        logger.info("embedded store opened", metadata: ["directory": "\(directory)", "readers": "\(readers.count)"])
    }

    // MARK: Keys

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
        guard keys.count <= Self.maxSigningKeys else {
            throw .rejected("a key ring holds at most \(Self.maxSigningKeys) keys")
        }
        var keyIDs = Set<String>()
        for key in keys {
            guard KeyFileDirectory.isValidKeyID(key.keyID) else {
                throw .rejected("a key id must be 1 to 64 of A-Z a-z 0-9 _ -")
            }
            guard keyIDs.insert(key.keyID).inserted else { throw .rejected("duplicate key id \(key.keyID)") }
            guard (1...KeyFileDirectory.maxKeyFileSize).contains(key.privateKeyPKCS8.count) else {
                throw .rejected("the private key of \(key.keyID) is empty or too large")
            }
        }
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

    /// Appends one event to the log.
    private static func insertEvent(
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

    // MARK: Sessions and refresh tokens

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

    // MARK: Revocations

    public func revoke(_ revocation: RevocationRequest) async throws(TokenStoreError) -> RevocationReceipt {
        guard revocation.value.utf8.count <= Self.maxValueLength, revocation.reason.utf8.count <= Self.maxValueLength
        else {
            throw .rejected("a revocation value or reason is longer than \(Self.maxValueLength) bytes")
        }
        guard revocation.kind != .keyRing else { throw .rejected("a key ring change is logged with the key ring") }
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

    // MARK: Maintenance

    public func purgeExpired(now: Int64) async throws(TokenStoreError) {
        var sessions = 0
        var tokens = 0
        var events = 0
        while true {
            let round = try await write { database throws(TokenStoreError) in
                try Self.purgeRound(now: now, on: database)
            }
            sessions += round.sessions
            tokens += round.refreshTokens
            events += round.events
            guard max(round.sessions, round.refreshTokens, round.events) >= Self.purgeRoundRows else { break }
        }
        logger.debug(
            "purged expired records",
            metadata: ["sessions": "\(sessions)", "refreshTokens": "\(tokens)", "revocationEvents": "\(events)"])
    }

    /// The most rows of each table one purge write deletes: a large expiry is purged in several
    /// short writes, between which other writes commit, rather than in one that holds them all up.
    static let purgeRoundRows = 1_000

    /// Deletes up to `purgeRoundRows` expired rows of each table, recording the highest event seq
    /// it drops (readers asking for events after an older seq then need a snapshot).
    private static func purgeRound(
        now: Int64,
        on database: SQLiteConnection
    ) throws(TokenStoreError) -> (sessions: Int, refreshTokens: Int, events: Int) {
        let bounds: [SQLiteValue] = [.integer(now), .integer(Int64(purgeRoundRows))]
        let tokens = try database.execute(
            "DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)",
            bounds)
        let sessions = try database.execute(
            "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < ? LIMIT ?)",
            bounds)
        let seqs = try database.query(
            """
            DELETE FROM revocation_events
            WHERE seq IN (SELECT seq FROM revocation_events WHERE expires_at < ? LIMIT ?)
            RETURNING seq
            """,
            bounds
        ) { row in row.int64(0) }
        if let highest = seqs.max() {
            try recordPurged(upTo: highest, on: database)
        }
        return (sessions, tokens, seqs.count)
    }

    /// Records that events up to `seq` may be gone: a reader asking for events after an older seq
    /// needs a snapshot.
    private static func recordPurged(upTo seq: Int64, on database: SQLiteConnection) throws(TokenStoreError) {
        try database.execute(
            """
            INSERT INTO meta (key, value) VALUES (?, ?)
            ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
            """,
            [.text(StoreSchema.purgedSeqKey), .integer(seq)])
    }

    public func close() async {
        await writer.close()
        for reader in readers {
            await reader.close()
        }
    }

    // MARK: Writer and reader

    /// Runs `bodies` as separate writes queued together, so that they commit in one batch, each in
    /// its own savepoint.
    /// - Parameters:
    ///   - afterCommit: runs on the writer thread once the batch committed.
    /// - Returns: each write's result, in order; all fail with `unavailable` when the batch did not commit.
    func writeEach<Value: Sendable>(
        _ bodies: [PendingWrite<Value>.Body],
        afterCommit: (@Sendable (SQLiteConnection) -> Void)? = nil
    ) async -> [Result<Value, TokenStoreError>] {
        guard !bodies.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let results = [Result<Value, TokenStoreError>?](repeating: nil, count: bodies.count)
            let collected = Mutex((results: results, missing: bodies.count))
            let jobs = bodies.indices.map { index in
                PendingWrite(
                    body: bodies[index], eventLoop: nil, afterCommit: index == 0 ? afterCommit : nil
                ) { result in
                    // The last answer to arrive completes the call, with all of them in order.
                    let finished = collected.withLock { state -> [Result<Value, TokenStoreError>]? in
                        state.results[index] = result
                        state.missing -= 1
                        return state.missing == 0 ? state.results.compactMap { $0 } : nil
                    }
                    if let finished {
                        continuation.resume(returning: finished)
                    }
                }
            }
            if !writer.submit(contentsOf: jobs) {
                for job in jobs {
                    job.reject(.unavailable("the store is closed"))
                }
            }
        }
    }

    /// Runs `body` as one write and returns once it is durable.
    private func write<Value: Sendable>(
        _ body: @escaping PendingWrite<Value>.Body,
        afterCommit: (@Sendable (SQLiteConnection) -> Void)? = nil
    ) async throws(TokenStoreError) -> Value {
        let result = await withCheckedContinuation { continuation in
            submitWrite(body, afterCommit: afterCommit) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Queues `body` as one write, answering through `complete` (on `eventLoop`, or the writer
    /// thread when nil) once it is durable (or failed).
    private func submitWrite<Value: Sendable>(
        _ body: @escaping PendingWrite<Value>.Body,
        on eventLoop: (any EventLoop)? = nil,
        afterCommit: (@Sendable (SQLiteConnection) -> Void)? = nil,
        complete: @escaping @Sendable (Result<Value, TokenStoreError>) -> Void
    ) {
        let job = PendingWrite(body: body, eventLoop: eventLoop, afterCommit: afterCommit, complete: complete)
        if !writer.submit(job) {
            job.reject(.unavailable("the store is closed"))
        }
    }

    /// Runs `body` on the reader with the fewest reads outstanding.
    func read<Value: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(TokenStoreError) -> Value
    ) async throws(TokenStoreError) -> Value {
        let index = outstandingReads.withLock { counts in
            let index = counts.indices.min { counts[$0] < counts[$1] } ?? 0
            counts[index] += 1
            return index
        }
        let result: Result<Value, TokenStoreError> = await withCheckedContinuation { continuation in
            let accepted = readers[index].submit { database in
                do throws(TokenStoreError) {
                    continuation.resume(returning: .success(try body(database)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            if !accepted {
                continuation.resume(returning: .failure(.unavailable("the store is closed")))
            }
        }
        outstandingReads.withLock { $0[index] -= 1 }
        return try result.get()
    }

    // MARK: Rows

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

    private static func event(_ seq: UInt64, _ revocation: RevocationRequest) -> RevocationEvent {
        RevocationEvent(
            seq: seq, kind: revocation.kind, value: revocation.value, revokedAt: revocation.revokedAt,
            expiresAt: revocation.expiresAt)
    }

    private static func checkHash(_ hash: [UInt8]) throws(TokenStoreError) {
        guard (1...maxHashLength).contains(hash.count) else {
            throw .rejected("a refresh token hash must be 1 to \(maxHashLength) bytes")
        }
    }
}
