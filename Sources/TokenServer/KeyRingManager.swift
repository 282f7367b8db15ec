import Logging
import Synchronization
import TokenCore
import TokenStore
import TokenWire

/// Owns the signing key ring: loads or creates it at start, rotates and prunes it, persists every
/// change before using it, and hands out immutable snapshots for the hot paths.
actor KeyRingManager {
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
        if stored.isEmpty {
            ring = try KeyRing.bootstrap(algorithm: configuration.algorithm, now: now)
            try await store.saveSigningKeys(try Self.storedKeys(of: ring))
            logger.info("created signing keys", metadata: ["active_kid": "\(ring.active.keyID)"])
        } else {
            ring = try KeyRing(entries: try stored.map(Self.entry(of:)))
        }
        current = Mutex(Self.snapshot(of: ring, configuration: configuration))
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
        if now - snapshot.ring.active.notBefore >= configuration.rotateEvery {
            try await rotate(now: now)
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
