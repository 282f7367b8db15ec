import TokenWire

extension TokenValidator {
    /// Follows WatchRevocations: a snapshot first, then live batches; after a lost stream it
    /// reconnects (the RPC client tries every endpoint) with backoff and jitter, resuming after the
    /// last applied `seq` of its epoch. A batch of another epoch ends the stream and resumes at once.
    func followRevocations() async {
        var failures = 0
        while !Task.isCancelled {
            let resume = storage.withLock { state in
                state.counters.increment(.streamsOpened)
                return state.mirror.resumePoint
            }
            do {
                let request = WatchRevocationsRequest(sinceSeq: resume.seq, epoch: resume.epoch)
                for try await batch in service.watchRevocations(request) {
                    failures = 0
                    if apply(batch) == .resume {
                        logger.info("the revocation log changed epoch; resuming", metadata: ["epoch": "\(batch.epoch)"])
                        break
                    }
                }
                logger.info("revocation stream ended")
            } catch {
                if !Task.isCancelled {
                    logger.info("revocation stream lost", metadata: ["error": "\(error)"])
                }
            }
            storage.withLock { $0.mirror.streamEnded() }
            failures += 1
            let delay = Backoff.delay(
                after: failures,
                initial: configuration.initialReconnectDelay,
                maximum: configuration.maximumReconnectDelay
            )
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
        }
    }

    /// Applies one batch, its key events included, and wakes the waiters it satisfies.
    /// - Returns: whether the stream goes on, or must be resumed (a batch of another epoch).
    func apply(_ batch: RevocationBatch) -> RevocationMirror.Disposition {
        // New keys are parsed before the lock that verifications take.
        let rings =
            batch.events.contains { $0.kind == .keyRing }
            ? TokenValidatorStorage.publishedRings(in: batch, reusing: storage.withLock { $0.keys }) : [:]
        let now = ContinuousClock.now
        let (disposition, satisfied, becameFresh, keyEvents, replaced) = storage.withLock { state in
            let disposition = state.mirror.apply(batch, at: now)
            // The keys change with the revocations around them, before anything answers from the batch.
            let keyEvents = disposition == .applied ? state.applyKeyEvents(of: batch, rings: rings) : .init()
            let fresh = state.mirror.isFresh(at: now, staleAfter: configuration.staleAfter)
            let becameFresh = fresh && !state.wasFresh
            if becameFresh {
                state.wasFresh = true
                state.failOpenLogged = false
            }
            let satisfied = state.takeSatisfiedWaiters(now: now, staleAfter: configuration.staleAfter)
            return (disposition, satisfied, becameFresh, keyEvents, state.mirror.takeReplacedContents())
        }
        keyEvents.satisfied.forEach { $0.resume() }
        if !keyEvents.refusals.isEmpty {
            // The stream says the ring changed but not to what: ask GetKeys, whatever the cooldown.
            logger.error(
                "refused key events of the revocation stream; fetching the keys",
                metadata: ["refused": "\(keyEvents.refusals.joined(separator: "; "))"])
            keyFetchRequests.yield()
        }
        // A replaced snapshot is released here, outside the lock.
        _ = consume replaced
        if becameFresh {
            logger.info(
                "revocation mirror is current", metadata: ["seq": "\(batch.headSeq)", "epoch": "\(batch.epoch)"])
        }
        satisfied.forEach { $0.continuation.resume() }
        return disposition
    }

    /// Notices the moment the mirror turns stale (no batch within `staleAfter`): logs it once and
    /// wakes the waiters it satisfies.
    func watchStaleness() async {
        let staleAfter = configuration.staleAfter
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let (wakeAt, becameStale, satisfied) = storage.withLock { state in
                let fresh = state.mirror.isFresh(at: now, staleAfter: staleAfter)
                let becameStale = state.wasFresh && !fresh
                if becameStale {
                    state.wasFresh = false
                }
                // Fresh until `staleAfter` past the last batch; check again just after that.
                let deadline = fresh ? (state.mirror.lastBatchAt ?? now) + staleAfter : now + staleAfter
                return (
                    deadline + .milliseconds(1),
                    becameStale,
                    becameStale ? state.takeSatisfiedWaiters(now: now, staleAfter: staleAfter) : []
                )
            }
            if becameStale {
                logger.warning(
                    "revocation mirror is stale: verifications fall back to the service",
                    metadata: ["policy": "\(configuration.policy)"]
                )
            }
            satisfied.forEach { $0.continuation.resume() }
            do {
                try await Task.sleep(until: wakeAt)
            } catch {
                return
            }
        }
    }

    /// Drops expired revocations and cache entries, and publishes the state as metrics.
    func maintainPeriodically() async {
        var lastPrune = ContinuousClock.now
        while !Task.isCancelled {
            let now = ContinuousClock.now
            if now - lastPrune >= configuration.pruneInterval {
                lastPrune = now
                prune(now: clock.now())
            }
            metrics.publish(storage.withLock { $0.snapshot(now: now, staleAfter: configuration.staleAfter) })
            do {
                try await Task.sleep(for: configuration.metricsInterval)
            } catch {
                return
            }
        }
    }

    /// Drops expired revocations and cache entries, shard by shard and chunk by chunk: neither
    /// verifications nor batches wait for it.
    func prune(now: Int64) {
        let earliest = now - configuration.leeway
        mirror.revocations.prune(now: earliest)
        cache.removeExpired(before: earliest)
    }
}
