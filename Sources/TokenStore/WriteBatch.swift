import Logging

/// Group commit: the writer thread runs every pending write in one transaction, one fsync for all.
enum WriteBatch {
    /// Runs `jobs` in one transaction (each write in its own savepoint, so that a failing write
    /// leaves the others intact), commits, then answers every job. When the transaction cannot be
    /// committed every job gets the error and nothing is acknowledged.
    static func commit(_ jobs: [any WriteJob], on database: SQLiteConnection, logger: Logger) {
        var writes = 0
        do throws(TokenStoreError) {
            try database.execute("BEGIN IMMEDIATE")
            for job in jobs {
                for index in 0..<job.count {
                    writes += 1
                    try database.execute("SAVEPOINT write")
                    if job.perform(index, on: database) {
                        try database.execute("RELEASE write")
                    } else {
                        guard !database.isAutocommit else {
                            throw .unavailable("the transaction was rolled back by an I/O error")
                        }
                        try database.execute("ROLLBACK TO write")
                        try database.execute("RELEASE write")
                    }
                }
            }
            try database.execute("COMMIT")
        } catch {
            if !database.isAutocommit {
                _ = try? database.execute("ROLLBACK")
            }
            logger.error("write batch failed, nothing stored", metadata: ["writes": "\(writes)", "error": "\(error)"])
            for job in jobs {
                job.finish(on: database, batchError: error)
            }
            return
        }
        logger.trace("write batch committed", metadata: ["writes": "\(writes)"])
        for job in jobs {
            job.finish(on: database, batchError: nil)
        }
    }
}
