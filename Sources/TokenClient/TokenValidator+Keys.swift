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
            let fetched = await fetchKeySet()
            let (waiters, satisfied) = storage.withLock { state in
                if let (keys, maxAge) = fetched {
                    state.keys = keys
                    state.keysMaxAge = maxAge
                    state.keysFetched += 1
                }
                defer { state.keyFetchWaiters = nil }
                return (
                    state.keyFetchWaiters ?? [],
                    state.takeSatisfiedWaiters(now: .now, staleAfter: configuration.staleAfter)
                )
            }
            waiters.forEach { $0.resume() }
            satisfied.forEach { $0.continuation.resume() }
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
        for published in response.keys {
            // The key decides the algorithm; a key whose declared algorithm differs is not used.
            guard let key = try? VerificationKey(spkiDER: published.publicKeyDER),
                key.algorithm.rawValue == published.algorithm
            else {
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
    /// again after a backoff with jitter.
    func refreshKeysPeriodically() async {
        var failures = 0
        while !Task.isCancelled {
            let before = storage.withLock { $0.keysFetched }
            await fetchKeys(respectingCooldown: false)
            let (fetched, maxAge) = storage.withLock { ($0.keysFetched != before, $0.keysMaxAge) }
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
}
