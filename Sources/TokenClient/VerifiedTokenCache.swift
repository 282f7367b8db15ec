import TokenCore

/// Tokens whose signature and issuer were verified, keyed by their exact text, bounded in size.
///
/// An entry remembers whether the mirror revoked the token at a given mirror generation, so a
/// repeat verification consults the mirror again only after it changed. When full, the oldest
/// insertion is evicted (first in, first out).
struct VerifiedTokenCache {
    struct Entry {
        let claims: Claims
        /// The `kid` of the key that verified it: a revocation of the key revokes the token.
        let keyID: String
        /// The mirror generation `revoked` was computed at.
        var checkedGeneration: UInt64
        var revoked: Bool
    }

    let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Insertion order, as a ring; "" marks a free slot.
    private var order: [String]
    private var next = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        self.order = Array(repeating: "", count: self.capacity)
        entries.reserveCapacity(self.capacity)
    }

    var count: Int {
        entries.count
    }

    subscript(token: String) -> Entry? {
        get { entries[token] }
        set { entries[token] = newValue }
    }

    /// Adds a verified token, evicting the oldest entry when full.
    mutating func insert(_ token: String, _ entry: Entry) {
        guard capacity > 0, !token.isEmpty else { return }
        if entries.updateValue(entry, forKey: token) != nil { return }
        let evicted = order[next]
        if !evicted.isEmpty {
            entries.removeValue(forKey: evicted)
        }
        order[next] = token
        next = next + 1 == capacity ? 0 : next + 1
    }

    /// Removes one token.
    mutating func remove(_ token: String) {
        entries.removeValue(forKey: token)
    }

    /// Removes tokens that expired before `earliest` (their `exp` is at or before it).
    mutating func removeExpired(before earliest: Int64) {
        entries = entries.filter { $0.value.claims.expiresAt > earliest }
    }
}
