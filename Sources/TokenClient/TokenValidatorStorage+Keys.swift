import TokenCore
import TokenWire

extension TokenValidatorStorage {
    /// What the key events of a batch did.
    struct KeyEventOutcome {
        /// Why events were refused: the keys must be fetched instead.
        var refusals: [String] = []
        /// The waiters whose key is now known (or revoked).
        var satisfied: [CheckedContinuation<Void, Never>] = []
    }

    /// The key sets the key ring events of `batch` publish, or why they are no rings, by seq. Meant to
    /// run outside the validator's lock: keys `known` holds are reused, only new ones are parsed.
    static func publishedRings(
        in batch: RevocationBatch,
        reusing known: KeySet?
    ) -> [UInt64: Result<KeySet, KeyRingRefusal>] {
        var rings: [UInt64: Result<KeySet, KeyRingRefusal>] = [:]
        for event in batch.events where event.kind == .keyRing {
            rings[event.seq] = publishedKeys(of: event, reusing: known)
        }
        return rings
    }

    /// Applies the key events of a batch the mirror applied: a key ring change replaces the keys
    /// (with its set from `rings`), a key revocation drops its key. A ring that is not one (an
    /// unknown key state, a malformed key, not exactly one ACTIVE and one NEXT key) is refused whole:
    /// the keys stay as they were.
    mutating func applyKeyEvents(
        of batch: RevocationBatch,
        rings: [UInt64: Result<KeySet, KeyRingRefusal>]
    ) -> KeyEventOutcome {
        var outcome = KeyEventOutcome()
        var changed = false
        for event in batch.events {
            switch event.kind {
            case .keyRing:
                switch rings[event.seq] ?? Self.publishedKeys(of: event, reusing: keys) {
                case .success(let published):
                    keys = published
                    changed = true
                case .failure(let refusal):
                    outcome.refusals.append("key ring event \(event.seq): \(refusal.reason)")
                }
            case .key:
                guard !event.value.isEmpty else {
                    outcome.refusals.append("key revocation event \(event.seq) names no key")
                    continue
                }
                changed = true
            case .token, .session, .subject, .unspecified, .unrecognized:
                break
            }
        }
        guard changed else { return outcome }
        // Whatever the events said, a revoked key is out (a ring applied in the batch of its revocation).
        keys = keys.map(withoutRevokedKeys)
        keyEventsApplied += 1
        outcome.satisfied = takeKeyWaiters()
        return outcome
    }

    /// `keys` without the keys the mirror holds revoked.
    func withoutRevokedKeys(_ keys: KeySet) -> KeySet {
        keys.filter { !mirror.revocations.isRevoked(keyID: $0) }
    }

    /// Removes and returns the waiters whose key `keys` holds or the mirror holds revoked.
    mutating func takeKeyWaiters() -> [CheckedContinuation<Void, Never>] {
        var satisfied: [CheckedContinuation<Void, Never>] = []
        for (id, waiter) in keyWaiters
        where keys?[waiter.keyID] != nil || mirror.revocations.isRevoked(keyID: waiter.keyID) {
            keyWaiters[id] = nil
            if let continuation = waiter.continuation {
                satisfied.append(continuation)
            }
        }
        return satisfied
    }

    /// Why a key ring event was refused.
    struct KeyRingRefusal: Error {
        let reason: String
    }

    /// The key set a key ring event publishes, or why it is not a ring; keys `known` holds are reused.
    static func publishedKeys(of event: WireRevocationEvent, reusing known: KeySet?) -> Result<KeySet, KeyRingRefusal> {
        var keys: [String: VerificationKey] = [:]
        var (active, next) = (0, 0)
        for (index, published) in event.keys.enumerated() {
            switch published.state {
            case .active: active += 1
            case .next: next += 1
            case .retiring: break
            case .unspecified: return .failure(KeyRingRefusal(reason: "key \(index) has no state"))
            case .unrecognized(let state):
                return .failure(KeyRingRefusal(reason: "key \(index) has unknown state \(state)"))
            }
            guard !published.keyID.isEmpty, keys[published.keyID] == nil else {
                return .failure(KeyRingRefusal(reason: "key \(index) has an empty or repeated kid"))
            }
            guard let key = verificationKey(published, reusing: known) else {
                return .failure(KeyRingRefusal(reason: "key \(index) is malformed or not of its algorithm"))
            }
            keys[published.keyID] = key
        }
        guard active == 1, next == 1 else {
            return .failure(KeyRingRefusal(reason: "\(active) ACTIVE and \(next) NEXT keys instead of one each"))
        }
        return .success(KeySet(keys: keys))
    }

    /// The verification key of a published key; nil when its bytes are no key, or a key of another
    /// algorithm than it declares (the key decides the algorithm). A key `known` holds under the same
    /// `kid` with the same bytes is reused: parsing costs libcrypto tens of microseconds, and the key
    /// keeps its verification contexts.
    static func verificationKey(_ published: WirePublicKey, reusing known: KeySet?) -> VerificationKey? {
        if let held = known?[published.keyID], held.spkiDER == published.publicKeyDER {
            return held.algorithm.rawValue == published.algorithm ? held : nil
        }
        guard let key = try? VerificationKey(spkiDER: published.publicKeyDER),
            key.algorithm.rawValue == published.algorithm
        else { return nil }
        return key
    }
}
