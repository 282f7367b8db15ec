import Logging
import NIOCore
import Synchronization

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
///
/// This file opens and closes the store, runs maintenance and holds the writer and reader plumbing;
/// each aggregate, with its SQL, is an extension of its own: `+KeyRing`, `+Sessions` (sessions and
/// refresh tokens), `+Revocations` (writing the revocation log) and `+RevocationLog` (reading it).
public final class EmbeddedTokenStore: TokenStore {
    /// The most events one `revocationEvents` call returns, whatever its `limit`.
    public static let maxEventsPerRead = 10_000
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
    let keyFiles: KeyFileDirectory
    let logger: Logger

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
    func write<Value: Sendable>(
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
    func submitWrite<Value: Sendable>(
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
}
