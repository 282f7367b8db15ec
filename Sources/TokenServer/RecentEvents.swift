import TokenCore

/// The last events the fan-out published, by seq (a fixed number of slots, each a seq and a hash of
/// its target). When a Revoke is answered with a seq the fan-out already published, this tells a
/// race with the fan-out (the same event) from a log that handed the seq out again (another one).
struct RecentEvents {
    private var slots: [(seq: UInt64, hash: Int)]

    /// - Parameter capacity: how many seqs are remembered (at least 1).
    init(capacity: Int) {
        slots = Array(repeating: (0, 0), count: max(capacity, 1))
    }

    /// Remembers a published event (forgetting the one `capacity` seqs before it).
    mutating func record(_ event: RevocationEvent) {
        slots[slot(event.seq)] = (event.seq, Self.target(event))
    }

    /// Whether the event published with `event.seq` was this one; nil when that seq is not remembered.
    func matches(_ event: RevocationEvent) -> Bool? {
        let remembered = slots[slot(event.seq)]
        guard remembered.seq == event.seq, event.seq != 0 else { return nil }
        return remembered.hash == Self.target(event)
    }

    /// A hash of what the event revokes (see `RevocationEvent.isSame(as:)`).
    private static func target(_ event: RevocationEvent) -> Int {
        var hasher = Hasher()
        hasher.combine(event.kind)
        hasher.combine(event.value)
        return hasher.finalize()
    }

    /// Forgets every event (their seqs belong to an epoch left behind).
    mutating func removeAll() {
        slots = Array(repeating: (0, 0), count: slots.count)
    }

    private func slot(_ seq: UInt64) -> Int {
        Int(seq % UInt64(slots.count))
    }
}
