import TokenCore

extension TokenValidator {
    /// Waits, at most `unknownKeyWait`, for the revocation stream to publish the key `keyID` (a
    /// rotation an instant ago whose event is still on its way) or revoke it. Waits only while the
    /// stream is live, for at most `maxKeyWaiters` verifications at once, and not within
    /// `unknownKeyCooldown` of a wait that ran out: a key that does not come was likely forged, and
    /// a flood of forged `kid`s then holds each request up once per cooldown at most.
    /// - Returns: the keys once they hold `keyID`; nil when they do not (not published in time,
    ///   revoked, or no wait).
    func waitForPublishedKey(_ keyID: String) async -> KeySet? {
        let wait = configuration.unknownKeyWait
        let now = ContinuousClock.now
        let id = storage.withLock { state -> UInt64? in
            guard state.keys?[keyID] == nil, wait > .zero, state.keyWaiters.count < configuration.maxKeyWaiters,
                state.mirror.isFresh(at: now, staleAfter: configuration.staleAfter),
                state.lastKeyWaitRanOut.map({ now - $0 >= configuration.unknownKeyCooldown }) ?? true
            else { return nil }
            let id = state.makeWaiterID()
            state.keyWaiters[id] = .init(keyID: keyID, continuation: nil)
            return id
        }
        if let id {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        // Gone already: the key came (or the wait ended) before this task ran.
                        let waiting = self.storage.withLock { state in
                            state.keyWaiters[id]?.continuation = continuation
                            return state.keyWaiters[id] != nil
                        }
                        if !waiting { continuation.resume() }
                    }
                }
                group.addTask { try? await Task.sleep(for: wait) }
                await group.next()
                group.cancelAll()
                // The wait ran out without the key (or was cancelled): end the waiting task too.
                let cancelled = Task.isCancelled
                let ended = storage.withLock { state in
                    let waiter = state.keyWaiters.removeValue(forKey: id)
                    if waiter != nil, !cancelled {
                        state.lastKeyWaitRanOut = .now
                        state.counters.increment(.keyWaitsRanOut)
                    }
                    return waiter
                }
                ended?.continuation?.resume()
            }
        }
        return storage.withLock { state in
            state.keys.flatMap { $0[keyID] == nil ? nil : $0 }
        }
    }
}
