import TokenCore
import TokenWire

extension TokenValidator {
    /// Fetches the keys, joining a fetch in flight: with `respectingCooldown`, no new fetch starts
    /// within `unknownKeyCooldown` of the last one, so unknown `kid`s cannot cause a storm.
    func fetchKeys(respectingCooldown: Bool) async {
        enum Step { case start, join, skip }
        let cooldown = configuration.unknownKeyCooldown
        let step = storage.withLock { state -> Step in
            if state.keyFetchWaiters != nil { return .join }
            let now = ContinuousClock.now
            if respectingCooldown, let last = state.lastKeyFetchStart, now - last < cooldown { return .skip }
            state.keyFetchWaiters = []
            state.lastKeyFetchStart = now
            state.counters.increment(.keyFetches)
            return .start
        }
        switch step {
        case .skip:
            return
        case .join:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let joined = storage.withLock { $0.keyFetchWaiters?.append(continuation) } != nil
                if !joined { continuation.resume() }
            }
        case .start:
            let eventsBefore = storage.withLock { $0.keyEventsApplied }
            let fetched = await fetchKeySet()
            let (waiters, satisfied, keyWaiters) = storage.withLock { state in
                if let (keys, maxAge) = fetched {
                    // A key event applied during the fetch is newer than the answer, or as new.
                    if state.keyEventsApplied == eventsBefore || state.keys == nil {
                        state.keys = state.withoutRevokedKeys(keys)
                    }
                    state.keysMaxAge = maxAge
                    state.keysFetched += 1
                }
                defer { state.keyFetchWaiters = nil }
                return (
                    state.keyFetchWaiters ?? [],
                    state.takeSatisfiedWaiters(now: .now, staleAfter: configuration.staleAfter),
                    state.takeKeyWaiters()
                )
            }
            waiters.forEach { $0.resume() }
            satisfied.forEach { $0.continuation.resume() }
            keyWaiters.forEach { $0.resume() }
        }
    }

    /// One GetKeys call: the keys and how long they may be cached, or nil when the call failed or
    /// answered no usable key (the last good keys keep serving).
    private func fetchKeySet() async -> (KeySet, Duration)? {
        let response: GetKeysResponse
        do {
            response = try await service.getKeys(timeout: configuration.fallbackTimeout)
        } catch {
            logger.debug("GetKeys failed", metadata: ["error": "\(error)"])
            return nil
        }
        var keys: [String: VerificationKey] = [:]
        let known = storage.withLock { $0.keys }
        for published in response.keys {
            // The key decides the algorithm; a key whose declared algorithm differs is not used.
            guard let key = TokenValidatorStorage.verificationKey(published, reusing: known) else {
                logger.warning("GetKeys published an unusable key", metadata: ["kid": "\(published.keyID)"])
                continue
            }
            keys[published.keyID] = key
        }
        guard !keys.isEmpty else {
            logger.warning("GetKeys published no usable key; keeping the previous keys")
            return nil
        }
        return (KeySet(keys: keys), .seconds(Int64(response.cacheMaxAgeSeconds)))
    }

    /// Fetches the keys at start, then again halfway through each cache age; after a failure,
    /// again after a backoff with jitter. Besides, fetches them at once whenever a key event of the
    /// stream was refused (`keyFetchRequests`).
    func refreshKeysPeriodically() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in self.keyFetchRequested {
                    await self.fetchKeys(respectingCooldown: false)
                }
            }
            group.addTask {
                var failures = 0
                while !Task.isCancelled {
                    let before = self.storage.withLock { $0.keysFetched }
                    await self.fetchKeys(respectingCooldown: false)
                    let (fetched, maxAge) = self.storage.withLock { ($0.keysFetched != before, $0.keysMaxAge) }
                    failures = fetched ? 0 : failures + 1
                    let delay =
                        fetched
                        ? max(.seconds(1), maxAge / 2)
                        : Backoff.delay(after: failures, initial: .milliseconds(200), maximum: .seconds(10))
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        return
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
