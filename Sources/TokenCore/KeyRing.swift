/// The service's signing keys with the rotation rule of the contract: one ACTIVE key signs, one
/// NEXT key is published before it ever signs, and RETIRING keys stay published until every token
/// they signed has expired. A value type, so a store can persist it and readers never see it torn.
public struct KeyRing: Sendable {
    /// The role of a key in the ring.
    public enum State: String, Sendable, Hashable, CaseIterable {
        /// Signs new tokens.
        case active
        /// Published, signs nothing yet; becomes ACTIVE at the next rotation.
        case next
        /// Signs nothing any more; published until `notAfter`.
        case retiring
    }

    /// One key of the ring.
    public struct Entry: Sendable {
        /// The `kid` (the key's RFC 7638 thumbprint for generated keys).
        public var keyID: String
        /// The private key.
        public var key: SigningKey
        /// Its role.
        public var state: State
        /// When it first signed (ACTIVE, RETIRING) or was published (NEXT), Unix seconds.
        public var notBefore: Int64
        /// When it stops being published (RETIRING), Unix seconds; 0 = open.
        public var notAfter: Int64

        /// Creates an entry.
        public init(keyID: String, key: SigningKey, state: State, notBefore: Int64, notAfter: Int64) {
            self.keyID = keyID
            self.key = key
            self.state = state
            self.notBefore = notBefore
            self.notAfter = notAfter
        }

        fileprivate static func generate(
            _ algorithm: TokenAlgorithm, state: State, now: Int64
        ) throws(TokenError)
            -> Entry
        {
            let key = try SigningKey.generate(algorithm)
            return Entry(keyID: key.publicKey.thumbprint, key: key, state: state, notBefore: now, notAfter: 0)
        }
    }

    /// Every key, ACTIVE first, then NEXT, then RETIRING keys oldest first.
    public private(set) var entries: [Entry]

    /// A fresh ring: a new ACTIVE key and a new NEXT key.
    /// - Parameters:
    ///   - algorithm: The algorithm of both keys.
    ///   - now: The current time (Unix seconds).
    /// - Throws: `TokenError.cryptoFailure` when key generation fails.
    public static func bootstrap(algorithm: TokenAlgorithm, now: Int64) throws(TokenError) -> KeyRing {
        try KeyRing(entries: [
            .generate(algorithm, state: .active, now: now),
            .generate(algorithm, state: .next, now: now),
        ])
    }

    /// A ring from stored entries.
    /// - Parameter entries: Exactly one ACTIVE and one NEXT entry, any number of RETIRING ones
    ///   (each with a `notAfter`), all key ids distinct.
    /// - Throws: `TokenError.invalidKeyRing` naming the broken rule.
    public init(entries: [Entry]) throws(TokenError) {
        guard entries.count(where: { $0.state == .active }) == 1 else {
            throw .invalidKeyRing("needs exactly one active key")
        }
        guard entries.count(where: { $0.state == .next }) == 1 else {
            throw .invalidKeyRing("needs exactly one next key")
        }
        guard Set(entries.map(\.keyID)).count == entries.count else { throw .invalidKeyRing("duplicate key id") }
        guard !entries.contains(where: { $0.keyID.isEmpty }) else { throw .invalidKeyRing("empty key id") }
        guard !entries.contains(where: { $0.state == .retiring && $0.notAfter <= 0 }) else {
            throw .invalidKeyRing("a retiring key needs notAfter")
        }
        let rank: [State: Int] = [.active: 0, .next: 1, .retiring: 2]
        self.entries = entries.enumerated().sorted { left, right in
            let (leftRank, rightRank) = (rank[left.element.state] ?? 2, rank[right.element.state] ?? 2)
            return leftRank != rightRank ? leftRank < rightRank : left.offset < right.offset
        }.map(\.element)
    }

    /// The key that signs.
    public var active: Entry {
        // `init(entries:)` guarantees exactly one ACTIVE entry, sorted first, and every mutation keeps it.
        entries[0]
    }

    /// The key published to sign after the next rotation.
    public var next: Entry {
        entries[1]
    }

    /// Rotates: NEXT becomes ACTIVE (`notBefore` = now), ACTIVE becomes RETIRING until every token
    /// it signed has expired (`notAfter` = now + `maxTokenLifetime` + `leeway`), and a fresh NEXT
    /// key is generated. With `droppingActive` (the key leaked and is revoked), the old ACTIVE key
    /// leaves the ring instead of retiring.
    /// - Parameters:
    ///   - now: The current time (Unix seconds).
    ///   - maxTokenLifetime: The longest lifetime of a token the ring signs (the access TTL), seconds.
    ///   - algorithm: The algorithm of the fresh NEXT key.
    ///   - leeway: The verifiers' clock leeway, seconds (default 30).
    ///   - droppingActive: Whether the old ACTIVE key leaves the ring rather than retiring.
    /// - Throws: `TokenError.cryptoFailure` when key generation fails (the ring is then unchanged).
    public mutating func rotate(
        now: Int64,
        maxTokenLifetime: Int64,
        algorithm: TokenAlgorithm,
        leeway: Int64 = 30,
        droppingActive: Bool = false
    ) throws(TokenError) {
        let fresh = try Entry.generate(algorithm, state: .next, now: now)
        var promoted = next
        promoted.state = .active
        promoted.notBefore = now
        var retired = active
        retired.state = .retiring
        retired.notAfter = now + max(0, maxTokenLifetime) + max(0, leeway)
        entries = [promoted, fresh] + entries.dropFirst(2) + (droppingActive ? [] : [retired])
    }

    /// Drops RETIRING keys whose `notAfter` has come.
    /// - Parameter now: The current time (Unix seconds).
    /// - Returns: True when a key was dropped.
    public mutating func prune(now: Int64) -> Bool {
        let before = entries.count
        entries.removeAll { $0.state == .retiring && $0.notAfter <= now }
        return entries.count != before
    }

    /// Every published key (all three states), by `kid`.
    public var keySet: KeySet {
        KeySet(keys: Dictionary(uniqueKeysWithValues: entries.map { ($0.keyID, $0.key.publicKey) }))
    }

    /// The published keys as an RFC 7517 JWK Set, in ring order.
    public func jwksJSON() -> String {
        KeySet.jwksJSON(entries.map { ($0.keyID, $0.key.publicKey) })
    }
}
