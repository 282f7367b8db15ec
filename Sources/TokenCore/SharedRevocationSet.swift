import Synchronization

/// A `RevocationSet` that many tasks read while it changes: split into shards by the revoked value,
/// each behind a lock of its own that is held for one lookup or one shard's change. A reader never
/// waits for more than that: a snapshot is built aside (`Contents`) and swapped in shard by shard,
/// and a prune goes shard by shard.
///
/// A revocation lives in the shard of its own value (`jti`, `sid` or `sub`), so a check looks into at
/// most three shards. `apply` and `prune` may run at the same time from different tasks; nothing
/// applied is lost to a prune. `exchangeContents` replaces everything, so whoever applies events
/// orders them with it (the mirror applies a stream's batches, snapshot swaps included, one at a
/// time). While contents are being replaced, a reader sees each shard either as it was or as it
/// will be.
public final class SharedRevocationSet: Sendable {
    /// The number of shards: with 1,000,000 revocations, about 250 each, so a prune holds one lock
    /// for microseconds.
    public static let shardCount = 4096

    /// Revocations gathered aside, in the shape of the shared set, to be swapped in whole.
    public struct Contents: Sendable {
        fileprivate var shards: [RevocationSet]

        /// Creates empty contents.
        public init() {
            shards = Array(repeating: RevocationSet(), count: SharedRevocationSet.shardCount)
        }

        /// Adds a revocation (see `RevocationSet.apply`).
        /// - Parameter event: The event.
        public mutating func apply(_ event: RevocationEvent) {
            shards[SharedRevocationSet.shard(of: event)].apply(event)
        }

        /// How many revocations the contents hold.
        public var count: Int {
            shards.reduce(0) { $0 + $1.count }
        }
    }

    private final class Shard: Sendable {
        let set = Mutex(RevocationSet())
    }

    private let shards: [Shard]
    /// The shards' counts added up, kept as they change.
    private let total = Atomic<Int>(0)
    /// The shards' revoked signing keys added up, kept as they change.
    private let revokedKeys = Atomic<Int>(0)

    /// Creates an empty set.
    public init() {
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    /// How many revocations the set holds.
    public var count: Int {
        total.load(ordering: .relaxed)
    }

    /// Whether the set holds no revocation.
    public var isEmpty: Bool {
        count == 0
    }

    /// Adds a revocation (see `RevocationSet.apply`).
    /// - Parameter event: The event.
    public func apply(_ event: RevocationEvent) {
        change(shards[Self.shard(of: event)]) { $0.apply(event) }
    }

    /// Whether the token with these claims is revoked (see `RevocationSet.isRevoked`).
    /// - Parameter claims: The token's claims.
    /// - Returns: True when revoked.
    public func isRevoked(_ claims: Claims) -> Bool {
        let tokenID = claims.tokenID
        let tokenRevoked =
            if let id = TokenID(tokenID) {
                shards[Self.shard(of: id)].set.withLock { $0.isTokenRevoked(id) }
            } else {
                shards[Self.shard(ofOther: tokenID)].set.withLock { $0.isTokenRevoked(tokenID) }
            }
        if tokenRevoked { return true }
        let sessionID = claims.sessionID
        if !sessionID.isEmpty {
            let sessionRevoked =
                if let id = TokenID(sessionID) {
                    shards[Self.shard(of: id)].set.withLock { $0.isSessionRevoked(id) }
                } else {
                    shards[Self.shard(ofOther: sessionID)].set.withLock { $0.isSessionRevoked(sessionID) }
                }
            if sessionRevoked { return true }
        }
        let subject = claims.subject
        let issuedAt = claims.issuedAt
        let fingerprint = RevocationProbe.fingerprint(ofSubject: subject)
        return shards[Self.shard(of: fingerprint)].set.withLock { $0.isSubjectRevoked(subject, issuedAt: issuedAt) }
    }

    /// Whether the token of this probe is revoked, as far as the probe can tell (see
    /// `RevocationSet.isRevoked(_:)` for probes).
    /// - Parameter probe: The token's probe.
    /// - Returns: True or false; nil when only the claims can tell.
    public func isRevoked(_ probe: RevocationProbe) -> Bool? {
        let tokenID = probe.tokenID
        if shards[Self.shard(of: tokenID)].set.withLock({ $0.isTokenRevoked(tokenID) }) { return true }
        if let sessionID = probe.sessionID,
            shards[Self.shard(of: sessionID)].set.withLock({ $0.isSessionRevoked(sessionID) })
        {
            return true
        }
        let fingerprint = probe.subjectFingerprint
        let issuedAt = probe.issuedAt
        let maySubject = shards[Self.shard(of: fingerprint)].set.withLock {
            $0.mayRevokeSubject(fingerprint: fingerprint, issuedAt: issuedAt)
        }
        return maySubject ? nil : false
    }

    /// Whether the signing key with this `kid` is revoked (see `RevocationSet.isRevoked(keyID:)`).
    /// - Parameter keyID: The token's `kid`.
    /// - Returns: True when revoked.
    public func isRevoked(keyID: String) -> Bool {
        hasRevokedKeys && shards[Self.shard(ofID: keyID)].set.withLock { $0.isRevoked(keyID: keyID) }
    }

    /// Whether any signing key is revoked: only then does a check need a token's `kid`.
    public var hasRevokedKeys: Bool {
        revokedKeys.load(ordering: .relaxed) > 0
    }

    /// Drops entries whose `expiresAt` has passed, one shard at a time.
    /// - Parameter now: The current time (Unix seconds).
    public func prune(now: Int64) {
        for shard in shards {
            change(shard) { $0.prune(now: now) }
        }
    }

    /// Swaps `contents` in, one shard at a time; `contents` receives what the set held, for the caller
    /// to release outside any lock.
    /// - Parameter contents: The new contents; on return, the old ones.
    public func exchangeContents(with contents: inout Contents) {
        for (index, shard) in shards.enumerated() {
            change(shard) { swap(&$0, &contents.shards[index]) }
        }
    }

    /// Adds everything `contents` holds, one shard at a time: a union, so nothing the set held is
    /// dropped (entries of both keep the later times).
    /// - Parameter contents: The revocations to add.
    public func formUnion(with contents: Contents) {
        for (index, shard) in shards.enumerated() where !contents.shards[index].isEmpty {
            change(shard) { set in
                for entry in contents.shards[index].entries {
                    set.apply(entry)
                }
            }
        }
    }

    /// Changes one shard under its lock and keeps the total.
    private func change(_ shard: Shard, _ body: (inout RevocationSet) -> Void) {
        let (delta, keysDelta) = shard.set.withLock { set in
            let (before, keysBefore) = (set.count, set.revokedKeyCount)
            body(&set)
            return (set.count - before, set.revokedKeyCount - keysBefore)
        }
        if delta != 0 {
            total.wrappingAdd(delta, ordering: .relaxed)
        }
        if keysDelta != 0 {
            revokedKeys.wrappingAdd(keysDelta, ordering: .relaxed)
        }
    }

    // MARK: - Routing

    /// The shard of an event: a canonical id by its low half (random bits), any other value by its
    /// per-process hash; a subject by its fingerprint, as probes carry it.
    private static func shard(of event: RevocationEvent) -> Int {
        switch event.kind {
        case .token, .session, .signingKey, .keyRing: shard(ofID: event.value)
        case .subject: shard(of: RevocationProbe.fingerprint(ofSubject: event.value))
        }
    }

    private static func shard(ofID value: String) -> Int {
        if let id = TokenID(value) { return shard(of: id) }
        return shard(ofOther: value)
    }

    /// The shard of a value that is not a canonical id.
    private static func shard(ofOther value: String) -> Int {
        shard(of: RevocationProbe.fingerprint(ofSubject: value))
    }

    private static func shard(of id: TokenID) -> Int {
        Int(truncatingIfNeeded: id.halves.low % UInt64(shardCount))
    }

    private static func shard(of fingerprint: Int) -> Int {
        Int(truncatingIfNeeded: UInt64(bitPattern: Int64(fingerprint)) % UInt64(shardCount))
    }
}
