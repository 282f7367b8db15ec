import Logging
import Metrics
import NIOCore

/// Group commit: the writer thread runs every pending write in one transaction, one fsync for all.
enum WriteBatch {
    /// `token_store_commit_duration_seconds`: one batch's transaction, commit and fsync included.
    private static let commitDuration = Metrics.Timer(label: "token_store_commit_duration_seconds")
    /// `token_store_commit_batch_size`: the writes committed together.
    private static let batchSize = Recorder(label: "token_store_commit_batch_size")

    /// Runs `jobs` in one transaction, commits, then answers every job: those of one event loop
    /// together, in one hop to that loop. A write that fails must not
    /// fail the others: the batch first runs without savepoints (writes rarely fail), and only when
    /// one does is it rolled back and run again with each write in its own savepoint. When the
    /// transaction cannot be committed every job gets the error and nothing is acknowledged.
    static func commit(_ jobs: [any WriteJob], on database: SQLiteConnection, logger: Logger) {
        let start = ContinuousClock.now
        do throws(TokenStoreError) {
            if try !run(jobs, on: database, isolatingEachWrite: false) {
                for job in jobs {
                    job.discardResult()
                }
                _ = try run(jobs, on: database, isolatingEachWrite: true)
            }
        } catch {
            if !database.isAutocommit {
                _ = try? database.execute("ROLLBACK")
            }
            logger.error(
                "write batch failed, nothing stored", metadata: ["writes": "\(jobs.count)", "error": "\(error)"])
            deliver(jobs, batchError: error)
            return
        }
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        commitDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        batchSize.record(jobs.count)
        logger.trace("write batch committed", metadata: ["writes": "\(jobs.count)"])
        for job in jobs {
            job.committed(on: database)
        }
        deliver(jobs, batchError: nil)
    }

    /// Answers every job: those without an event loop here, the others grouped by loop, one
    /// `execute` per loop, so the writer spends no time on the callers' work and a loop wakes once
    /// per batch.
    private static func deliver(_ jobs: [any WriteJob], batchError: TokenStoreError?) {
        var groups: [(loop: any EventLoop, jobs: [any WriteJob])] = []
        for job in jobs {
            guard let loop = job.eventLoop else {
                job.deliver(batchError: batchError)
                continue
            }
            if let index = groups.firstIndex(where: { $0.loop === loop }) {
                groups[index].jobs.append(job)
            } else {
                groups.append((loop, [job]))
            }
        }
        for (loop, jobs) in groups {
            loop.execute {
                for job in jobs {
                    job.deliver(batchError: batchError)
                }
            }
        }
    }

    /// One attempt at the batch's transaction.
    /// - Returns: true when it committed; false when a write failed without `isolatingEachWrite`
    ///   (the transaction is then rolled back).
    private static func run(
        _ jobs: [any WriteJob],
        on database: SQLiteConnection,
        isolatingEachWrite: Bool
    ) throws(TokenStoreError) -> Bool {
        try database.execute("BEGIN IMMEDIATE")
        for job in jobs {
            if isolatingEachWrite {
                try database.execute("SAVEPOINT write")
            }
            if job.perform(on: database) {
                if isolatingEachWrite {
                    try database.execute("RELEASE write")
                }
                continue
            }
            guard !database.isAutocommit else {
                throw .unavailable("the transaction was rolled back by an I/O error")
            }
            guard isolatingEachWrite else {
                try database.execute("ROLLBACK")
                return false
            }
            try database.execute("ROLLBACK TO write")
            try database.execute("RELEASE write")
        }
        try database.execute("COMMIT")
        return true
    }
}
