import Logging
import Synchronization
import TokenCore
import TokenStore
import TokenWire

/// Owns the signing key ring: loads or creates it at start, rotates and prunes it, persists every
/// change before using it, and hands out immutable snapshots for the hot paths.
///
/// On a store shared by several instances, every change happens under the store's key ring lock,
/// on the ring as stored (another instance may have changed it), and `reloadIfChanged()` picks up
/// the changes of the others.
actor KeyRingManager {
    /// How long a starting instance waits for another one that is creating the shared ring.
    static let bootstrapWait = Duration.seconds(30)

    /// What Issue, Validate and GetKeys read, swapped whole on every change.
    struct Snapshot: Sendable {
        let ring: KeyRing
        let keySet: KeySet
        let getKeysResponse: GetKeysResponse
    }

    private let store: any TokenStore
    private let configuration: TokenServiceConfiguration
    private let logger: Logger
    private nonisolated let current: Mutex<Snapshot>

    /// Loads the stored ring (creating and storing a fresh one on first start).
    init(store: any TokenStore, configuration: TokenServiceConfiguration, now: Int64, logger: Logger) async throws {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        let stored = try await store.loadSigningKeys()
        let ring: KeyRing
        if !stored.isEmpty {
            ring = try KeyRing(entries: try stored.map(Self.entry(of:)))
        } else if let shared = store as? any SharedTokenStore {
            ring = try await Self.bootstrapShared(shared, configuration: configuration, now: now, logger: logger)
        } else {
            ring = try KeyRing.bootstrap(algorithm: configuration.algorithm, now: now)
            try await store.saveSigningKeys(try Self.storedKeys(of: ring))
            logger.info("created signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
        }
        current = Mutex(Self.snapshot(of: ring, configuration: configuration))
    }

    /// The shared ring: created under the lock by the first instance; the others wait for it.
    private static func bootstrapShared(
        _ store: any SharedTokenStore,
        configuration: TokenServiceConfiguration,
        now: Int64,
        logger: Logger
    ) async throws -> KeyRing {
        let deadline = ContinuousClock.now + bootstrapWait
        while true {
            let created = try await store.withKeyRingLock { () async throws -> [StoredSigningKey] in
                let stored = try await store.loadSigningKeys()
                guard stored.isEmpty else { return stored }
                let ring = try KeyRing.bootstrap(algorithm: configuration.algorithm, now: now)
                let keys = try Self.storedKeys(of: ring)
                try await store.saveSigningKeys(keys)
                logger.info("created signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
                return keys
            }
            var stored = created ?? []
            if created == nil {
                stored = try await store.loadSigningKeys()
            }
            if !stored.isEmpty {
                return try KeyRing(entries: try stored.map(Self.entry(of:)))
            }
            guard ContinuousClock.now < deadline else {
                throw TokenStoreError.unavailable("another instance holds the key ring lock but stored no keys")
            }
            // Another instance is creating the ring: poll for it until the deadline.
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Adopts the stored ring when another instance changed it.
    /// - Returns: true when the ring changed.
    @discardableResult
    func reloadIfChanged() async throws -> Bool {
        let stored = try await store.loadSigningKeys()
        guard !stored.isEmpty else { return false }
        let ring = snapshot.ring
        let known = ring.entries.map { [$0.keyID, $0.state.rawValue, "\($0.notBefore)", "\($0.notAfter)"] }
        let found = stored.map { [$0.keyID, $0.state, "\($0.notBefore)", "\($0.notAfter)"] }
        guard known != found else { return false }
        let reloaded = try KeyRing(entries: try stored.map(Self.entry(of:)))
        let snapshot = Self.snapshot(of: reloaded, configuration: configuration)
        current.withLock { $0 = snapshot }
        logger.info("picked up a key ring change", metadata: ["active_kid": "\(reloaded.active.keyID)"])
        return true
    }

    /// The current snapshot (no suspension, no disk).
    nonisolated var snapshot: Snapshot {
        current.withLock { $0 }
    }

    /// Promotes NEXT to ACTIVE, retires the old ACTIVE key and publishes a fresh NEXT key; the new
    /// ring is stored before it is used.
    /// - Returns: the key id that is ACTIVE now.
    @discardableResult
    func rotate(now: Int64) async throws -> String {
        guard let shared = store as? any SharedTokenStore else {
            return try await rotateHoldingLock(now: now)
        }
        guard let keyID = try await shared.withKeyRingLock({ try await self.rotateHoldingLock(now: now) }) else {
            throw TokenStoreError.unavailable("another instance is changing the key ring")
        }
        return keyID
    }

    private func rotateHoldingLock(now: Int64) async throws -> String {
        if store is any SharedTokenStore {
            try await reloadIfChanged()
        }
        var ring = snapshot.ring
        try ring.rotate(
            now: now,
            maxTokenLifetime: configuration.accessTTL,
            algorithm: configuration.algorithm,
            leeway: configuration.leeway
        )
        _ = ring.prune(now: now)
        try await install(ring)
        logger.info("rotated signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
        return ring.active.keyID
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
            try await rotateHoldingLock(now: now)
            return
        }
        var ring = snapshot.ring
        if ring.prune(now: now) {
            try await install(ring)
            logger.info("dropped expired retiring keys")
        }
    }

    private func install(_ ring: KeyRing) async throws {
        try await store.saveSigningKeys(try Self.storedKeys(of: ring))
        let snapshot = Self.snapshot(of: ring, configuration: configuration)
        current.withLock { $0 = snapshot }
    }

    private static func snapshot(of ring: KeyRing, configuration: TokenServiceConfiguration) -> Snapshot {
        let keys = ring.entries.map { entry in
            WirePublicKey(
                keyID: entry.keyID,
                algorithm: entry.key.algorithm.rawValue,
                publicKeyDER: entry.key.publicKey.spkiDER,
                notBefore: entry.notBefore,
                notAfter: entry.notAfter,
                state: KeyState(entry.state)
            )
        }
        let response = GetKeysResponse(
            keys: keys,
            jwksJSON: ring.jwksJSON(),
            cacheMaxAgeSeconds: configuration.keysCacheMaxAge
        )
        return Snapshot(ring: ring, keySet: ring.keySet, getKeysResponse: response)
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

extension KeyState {
    init(_ state: KeyRing.State) {
        switch state {
        case .active: self = .active
        case .next: self = .next
        case .retiring: self = .retiring
        }
    }
}
