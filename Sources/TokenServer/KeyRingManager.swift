import Logging
import Synchronization
import TokenCore
import TokenStore
import TokenWire

/// Owns the signing key ring: loads or creates it at start, rotates and prunes it, persists every
/// change before using it, and hands out immutable snapshots for the hot paths.
///
/// Every change is logged in the revocation log with the ring (a `.keyRing` event, after a
/// `.signingKey` revocation for a revoked key), so watchers get key changes in order with the
/// revocations around them; `logged` hands the events to the fan-out.
///
/// On a store shared by several instances, every change happens under the store's key ring lock,
/// on the ring as stored (another instance may have changed it), and `reloadIfChanged()` picks up
/// the changes of the others (the fan-out calls it when it meets their key events).
actor KeyRingManager {
    /// How long a starting instance waits for another one that is creating the shared ring.
    static let bootstrapWait = Duration.seconds(30)

    /// What Issue, Validate and GetKeys read, swapped whole on every change.
    struct Snapshot: Sendable {
        let ring: KeyRing
        let keySet: KeySet
        let getKeysResponse: GetKeysResponse
        /// The seq of the `.keyRing` event that logged the ring (0: none was logged).
        let ringSeq: UInt64
    }

    /// What a rotation did.
    struct Rotation: Sendable {
        /// The key that is ACTIVE now.
        let activeKeyID: String
        /// The key it revoked (`revokingActive`), else nil.
        let revokedKeyID: String?
        /// The `.keyRing` event it logged.
        let ringEvent: RevocationEvent
    }

    private let store: any TokenStore
    private let configuration: TokenServiceConfiguration
    private let logger: Logger
    private let logged: @Sendable ([RevocationEvent]) -> Void
    private nonisolated let current: Mutex<Snapshot>

    /// Loads the stored ring (creating, storing and logging a fresh one on first start).
    /// - Parameter logged: receives the events every change logged, once they are stored.
    init(
        store: any TokenStore,
        configuration: TokenServiceConfiguration,
        now: Int64,
        logger: Logger,
        logged: @escaping @Sendable ([RevocationEvent]) -> Void
    ) async throws {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.logged = logged
        var stored = try await store.loadSigningKeys()
        if stored.keys.isEmpty {
            if let shared = store as? any SharedTokenStore {
                stored = try await Self.bootstrapShared(shared, configuration: configuration, now: now, logger: logger)
            } else {
                let ring = try KeyRing.bootstrap(algorithm: configuration.algorithm, now: now)
                let events = try await Self.save(ring, in: store, configuration: configuration, now: now)
                logged(events)
                logger.info("created signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
                stored = StoredKeyRing(keys: try Self.storedKeys(of: ring), seq: events.last?.seq ?? 0)
            }
        }
        let ring = try KeyRing(entries: try stored.keys.map(Self.entry(of:)))
        current = Mutex(Self.snapshot(of: ring, seq: stored.seq, configuration: configuration))
    }

    /// The shared ring: created under the lock by the first instance; the others wait for it.
    private static func bootstrapShared(
        _ store: any SharedTokenStore,
        configuration: TokenServiceConfiguration,
        now: Int64,
        logger: Logger
    ) async throws -> StoredKeyRing {
        let deadline = ContinuousClock.now + bootstrapWait
        while true {
            let created = try await store.withKeyRingLock { () async throws -> StoredKeyRing in
                let stored = try await store.loadSigningKeys()
                guard stored.keys.isEmpty else { return stored }
                let ring = try KeyRing.bootstrap(algorithm: configuration.algorithm, now: now)
                let events = try await save(ring, in: store, configuration: configuration, now: now)
                logger.info("created signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
                return StoredKeyRing(keys: try storedKeys(of: ring), seq: events.last?.seq ?? 0)
            }
            var stored = created
            if stored == nil {
                stored = try await store.loadSigningKeys()
            }
            if let stored, !stored.keys.isEmpty {
                return stored
            }
            guard ContinuousClock.now < deadline else {
                throw TokenStoreError.unavailable("another instance holds the key ring lock but stored no keys")
            }
            // Another instance is creating the ring: poll for it until the deadline.
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Adopts the stored ring when another instance changed it: when it was logged after the ring
    /// in use (a read that began before a change of this instance finished is older), or under the
    /// same seq with other keys (an instance of an older version, which logs no event, saved it).
    /// - Parameter evenIfOlder: adopt a stored ring logged before the one in use too (the store lost
    ///   writes: its log went back to an earlier epoch state).
    /// - Returns: true when the ring changed.
    @discardableResult
    func reloadIfChanged(evenIfOlder: Bool = false) async throws -> Bool {
        let stored = try await store.loadSigningKeys()
        guard !stored.keys.isEmpty else { return false }
        let known = snapshot
        let knownKeys = known.ring.entries.map { [$0.keyID, $0.state.rawValue, "\($0.notBefore)", "\($0.notAfter)"] }
        let foundKeys = stored.keys.map { [$0.keyID, $0.state, "\($0.notBefore)", "\($0.notAfter)"] }
        let changed = knownKeys != foundKeys || known.ringSeq != stored.seq
        guard changed, stored.seq >= known.ringSeq || evenIfOlder else { return false }
        let reloaded = try KeyRing(entries: try stored.keys.map(Self.entry(of:)))
        let snapshot = Self.snapshot(of: reloaded, seq: stored.seq, configuration: configuration)
        current.withLock { $0 = snapshot }
        logger.info("picked up a key ring change", metadata: ["active_kid": "\(reloaded.active.keyID)"])
        return true
    }

    /// The current snapshot (no suspension, no disk).
    nonisolated var snapshot: Snapshot {
        current.withLock { $0 }
    }

    /// Promotes NEXT to ACTIVE, retires (or with `revokingActive`, revokes) the old ACTIVE key and
    /// publishes a fresh NEXT key; the new ring and its events are stored before the ring is used.
    /// - Returns: the key ids that are ACTIVE now and that were revoked, and the ring's event.
    @discardableResult
    func rotate(now: Int64, revokingActive: Bool = false) async throws -> Rotation {
        guard let shared = store as? any SharedTokenStore else {
            return try await rotateHoldingLock(now: now, revokingActive: revokingActive)
        }
        guard
            let rotation = try await shared.withKeyRingLock({
                try await self.rotateHoldingLock(now: now, revokingActive: revokingActive)
            })
        else {
            throw TokenStoreError.unavailable("another instance is changing the key ring")
        }
        return rotation
    }

    private func rotateHoldingLock(now: Int64, revokingActive: Bool) async throws -> Rotation {
        if store is any SharedTokenStore {
            try await reloadIfChanged()
        }
        var ring = snapshot.ring
        let previous = ring.active
        try ring.rotate(
            now: now,
            maxTokenLifetime: configuration.accessTTL,
            algorithm: configuration.algorithm,
            leeway: configuration.leeway,
            droppingActive: revokingActive
        )
        _ = ring.prune(now: now)
        let events = try await install(ring, now: now, revoking: revokingActive ? [previous.keyID] : [])
        guard let ringEvent = events.last else { throw TokenStoreError.corrupt("a key ring change logged no event") }
        if revokingActive {
            logger.warning(
                "rotated signing keys and revoked the previous key",
                metadata: ["active_kid": "\(ring.active.keyID)", "revoked_kid": "\(previous.keyID)"])
        } else {
            logger.info("rotated signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
        }
        return Rotation(
            activeKeyID: ring.active.keyID, revokedKeyID: revokingActive ? previous.keyID : nil, ringEvent: ringEvent)
    }

    /// Rotates when the ACTIVE key has signed for `rotateEvery`; drops RETIRING keys whose tokens
    /// have all expired.
    func maintain(now: Int64) async throws {
        guard let shared = store as? any SharedTokenStore else {
            try await maintainHoldingLock(now: now)
            return
        }
        var probe = snapshot.ring
        guard now - probe.active.notBefore >= configuration.rotateEvery || probe.prune(now: now) else { return }
        // Another instance holding the lock is doing the same: its change is picked up by the reload.
        _ = try await shared.withKeyRingLock {
            try await self.reloadIfChanged()
            try await self.maintainHoldingLock(now: now)
        }
    }

    private func maintainHoldingLock(now: Int64) async throws {
        if now - snapshot.ring.active.notBefore >= configuration.rotateEvery {
            _ = try await rotateHoldingLock(now: now, revokingActive: false)
            return
        }
        var ring = snapshot.ring
        if ring.prune(now: now) {
            _ = try await install(ring, now: now, revoking: [])
            logger.info("dropped expired retiring keys")
        }
    }

    /// Stores `ring` with its events, then uses it and hands the events to the fan-out.
    private func install(_ ring: KeyRing, now: Int64, revoking revoked: [String]) async throws -> [RevocationEvent] {
        let events = try await Self.save(ring, in: store, configuration: configuration, now: now, revoking: revoked)
        let snapshot = Self.snapshot(of: ring, seq: events.last?.seq ?? 0, configuration: configuration)
        current.withLock { $0 = snapshot }
        logged(events)
        return events
    }

    /// Stores `ring` and logs it, with a revocation of each key of `revoked`.
    private static func save(
        _ ring: KeyRing,
        in store: any TokenStore,
        configuration: TokenServiceConfiguration,
        now: Int64,
        revoking revoked: [String] = []
    ) async throws -> [RevocationEvent] {
        // No token the key signed is valid once its lifetime and the leeway passed, and no GetKeys
        // answer from before still cached once the cache age passed.
        let revokedUntil =
            now + max(configuration.accessTTL, Int64(configuration.keysCacheMaxAge)) + configuration.leeway
        let change = KeyRingChange(
            publishedRing: PublishedKeyRing.encode(publicKeys(of: ring)),
            changedAt: now,
            revokedKeys: revoked.map { keyID in
                RevocationRequest(
                    kind: .signingKey, value: keyID, revokedAt: now, expiresAt: revokedUntil,
                    reason: "signing key revoked", timesAreDecided: true)
            })
        return try await store.saveSigningKeys(try storedKeys(of: ring), logging: change)
    }

    private static func publicKeys(of ring: KeyRing) -> [WirePublicKey] {
        ring.entries.map(WirePublicKey.init)
    }

    private static func snapshot(of ring: KeyRing, seq: UInt64, configuration: TokenServiceConfiguration) -> Snapshot {
        let response = GetKeysResponse(
            keys: publicKeys(of: ring),
            jwksJSON: ring.jwksJSON(),
            cacheMaxAgeSeconds: configuration.keysCacheMaxAge
        )
        return Snapshot(ring: ring, keySet: ring.keySet, getKeysResponse: response, ringSeq: seq)
    }

    private static func storedKeys(of ring: KeyRing) throws -> [StoredSigningKey] {
        try ring.entries.map { entry in
            StoredSigningKey(
                keyID: entry.keyID,
                algorithm: entry.key.algorithm.rawValue,
                state: entry.state.rawValue,
                notBefore: entry.notBefore,
                notAfter: entry.notAfter,
                privateKeyPKCS8: try entry.key.pkcs8DER()
            )
        }
    }

    private static func entry(of stored: StoredSigningKey) throws -> KeyRing.Entry {
        guard let state = KeyRing.State(rawValue: stored.state) else {
            throw TokenStoreError.corrupt("signing key \(stored.keyID) has unknown state \(stored.state)")
        }
        let key = try SigningKey(pkcs8DER: stored.privateKeyPKCS8)
        guard key.algorithm.rawValue == stored.algorithm else {
            throw TokenStoreError.corrupt("signing key \(stored.keyID) is not an \(stored.algorithm) key")
        }
        return KeyRing.Entry(
            keyID: stored.keyID,
            key: key,
            state: state,
            notBefore: stored.notBefore,
            notAfter: stored.notAfter
        )
    }
}
