import Synchronization
import TokenCore

/// Tokens whose signature and issuer were verified, keyed by the SHA-256 digest of their exact text
/// (two tokens that differ in any byte never share an entry), at most `capacity` of them. When full,
/// the oldest insertion is evicted (first in, first out).
///
/// Built for every core verifying at once: a lookup takes no lock and writes nothing shared. Each
/// entry is a slot of 14 atomic words (112 bytes) guarded by its version, a sequence lock: a writer
/// makes the version odd, writes, and makes it even again; a reader that saw it change reads again.
/// An index of about 4/3 of a word per entry (open addressing, linear probing) maps a digest to its
/// slot. Inserting, evicting and pruning take one lock among themselves; a reader never does.
///
/// An entry keeps what a repeat verification needs: the times, whether the token carries the
/// validator's audience, its `RevocationProbe`, and whether the mirror revoked it at a given mirror
/// generation. The claims are decoded from the token's text when a caller asks for them.
final class VerifiedTokenCache: Sendable {
    /// What a cached verification knows of a token.
    struct Entry: Equatable {
        var expiresAt: Int64
        var notBefore: Int64
        var issuedAt: Int64
        /// Whether the token carries the validator's configured audience.
        var hasDefaultAudience: Bool
        /// nil when the token's ids are not canonical: its claims are needed to check it.
        var probe: RevocationProbe?
        /// The mirror generation `revoked` was computed at (kept modulo 2^56).
        var checkedGeneration: UInt64
        var revoked: Bool
    }

    /// An entry found, and where and at which version it was read (for `recordCheck`).
    struct Found {
        let entry: Entry
        let slot: Int
        let version: UInt64
    }

    /// Words of a slot.
    private enum Word {
        static let version = 0
        static let digest = 1  // 4 words
        static let expiresAt = 5
        static let notBefore = 6
        static let issuedAt = 7
        static let tokenID = 8  // 2 words
        static let sessionID = 10  // 2 words
        static let subject = 12
        /// Flags in the low byte, the checked generation above them.
        static let state = 13
        static let count = 14
    }

    private enum Flag {
        static let occupied: UInt64 = 1
        static let revoked: UInt64 = 2
        static let defaultAudience: UInt64 = 4
        static let probe: UInt64 = 8
        static let session: UInt64 = 16
    }

    /// The generation bits a state word keeps.
    static let generationMask: UInt64 = (1 << 56) - 1
    /// The chunk of slots `removeExpired` handles per hold of the lock.
    private static let pruneChunk = 4096
    /// The most entries a cache holds, whatever its configuration says.
    static let maximumCapacity = 1 << 30

    /// The most entries the cache holds.
    let capacity: Int
    private let slots: AtomicWords
    /// One word per position: 0 when free, else the digest's tag (its first word's high half) above
    /// the slot number plus one.
    private let index: AtomicWords
    private let indexSize: Int
    /// The next slot of the ring to fill, and the entries held.
    private let writer = Mutex((next: 0, count: 0))

    init(capacity: Int) {
        self.capacity = min(max(0, capacity), Self.maximumCapacity)
        indexSize = self.capacity == 0 ? 0 : self.capacity + self.capacity / 3 + 1
        slots = AtomicWords(count: self.capacity * Word.count)
        index = AtomicWords(count: indexSize)
    }

    /// How many tokens are cached.
    var count: Int {
        writer.withLock { $0.count }
    }

    // MARK: - Reading (no lock)

    /// The entry of the token with this digest, if cached.
    func lookup(_ digest: SHA256Digest) -> Found? {
        guard indexSize > 0 else { return nil }
        let tag = Self.tag(of: digest)
        var position = home(of: tag)
        for _ in 0..<indexSize {
            let word = index.load(position)
            if word == 0 { return nil }
            if UInt32(truncatingIfNeeded: word >> 32) == tag,
                let found = read(slot: Int(word & 0xFFFF_FFFF) - 1, digest)
            {
                return found
            }
            position = position + 1 == indexSize ? 0 : position + 1
        }
        return nil
    }

    /// Reads a slot if it holds `digest`; retries while a writer changes it (a bounded number of
    /// times: a slot kept busy reads as a miss, which costs a verification, never a wrong answer).
    private func read(slot: Int, _ digest: SHA256Digest) -> Found? {
        let base = slot * Word.count
        for _ in 0..<64 {
            let version = slots.loadAcquiring(base)
            guard version & 1 == 0 else { continue }
            let matches =
                slots.load(base + Word.digest) == digest.words.0 && slots.load(base + Word.digest + 1) == digest.words.1
                && slots.load(base + Word.digest + 2) == digest.words.2
                && slots.load(base + Word.digest + 3) == digest.words.3
            let state = slots.load(base + Word.state)
            let expiresAt = slots.load(base + Word.expiresAt)
            let notBefore = slots.load(base + Word.notBefore)
            let issuedAt = slots.load(base + Word.issuedAt)
            let tokenID = (slots.load(base + Word.tokenID), slots.load(base + Word.tokenID + 1))
            let sessionID = (slots.load(base + Word.sessionID), slots.load(base + Word.sessionID + 1))
            let subject = slots.load(base + Word.subject)
            atomicMemoryFence(ordering: .acquiring)
            guard slots.load(base) == version else { continue }
            guard matches, state & Flag.occupied != 0 else { return nil }
            var probe: RevocationProbe?
            if state & Flag.probe != 0 {
                probe = RevocationProbe(
                    tokenID: TokenID(high: tokenID.0, low: tokenID.1),
                    sessionID: state & Flag.session != 0 ? TokenID(high: sessionID.0, low: sessionID.1) : nil,
                    subjectFingerprint: Int(bitPattern: UInt(subject)),
                    issuedAt: Int64(bitPattern: issuedAt))
            }
            let entry = Entry(
                expiresAt: Int64(bitPattern: expiresAt),
                notBefore: Int64(bitPattern: notBefore),
                issuedAt: Int64(bitPattern: issuedAt),
                hasDefaultAudience: state & Flag.defaultAudience != 0,
                probe: probe,
                checkedGeneration: state >> 8,
                revoked: state & Flag.revoked != 0)
            return Found(entry: entry, slot: slot, version: version)
        }
        return nil
    }

    /// Records the outcome of a revocation check made on a found entry, unless the slot changed since
    /// it was read or another task is writing it (then the next verification checks again).
    func recordCheck(_ found: Found, generation: UInt64, revoked: Bool) {
        let base = found.slot * Word.count
        guard slots.compareExchange(found.version, found.version + 1, at: base) else { return }
        atomicMemoryFence(ordering: .releasing)
        let flags = slots.load(base + Word.state) & 0xFF & ~Flag.revoked
        slots.store(
            (generation & Self.generationMask) << 8 | flags | (revoked ? Flag.revoked : 0), at: base + Word.state)
        slots.storeReleasing(found.version + 2, at: base)
    }

    // MARK: - Writing (under the lock)

    /// Caches a verified token (replacing its entry if it is cached), evicting the oldest entry when
    /// full.
    func insert(_ digest: SHA256Digest, _ entry: Entry) {
        guard capacity > 0 else { return }
        writer.withLock { state in
            if let position = indexPosition(of: digest) {
                write(slot: Int(index.load(position) & 0xFFFF_FFFF) - 1, digest, entry)
                return
            }
            let slot = state.next
            state.next = slot + 1 == capacity ? 0 : slot + 1
            if slots.load(slot * Word.count + Word.state) & Flag.occupied != 0 {
                removeFromIndex(slot: slot)
                state.count -= 1
            }
            write(slot: slot, digest, entry)
            addToIndex(digest, slot: slot)
            state.count += 1
        }
    }

    /// Removes tokens that expired before `earliest` (their `exp` is at or before it), a chunk of
    /// slots per hold of the lock.
    func removeExpired(before earliest: Int64) {
        var start = 0
        while start < capacity {
            let end = min(start + Self.pruneChunk, capacity)
            writer.withLock { state in
                for slot in start..<end {
                    let base = slot * Word.count
                    guard slots.load(base + Word.state) & Flag.occupied != 0,
                        Int64(bitPattern: slots.load(base + Word.expiresAt)) <= earliest
                    else { continue }
                    removeFromIndex(slot: slot)
                    clear(slot: slot)
                    state.count -= 1
                }
            }
            start = end
        }
    }

    /// Makes a slot's version odd, waiting out a reader that is recording a check in it.
    private func claim(base: Int) -> UInt64 {
        while true {
            let version = slots.load(base)
            if version & 1 == 0, slots.compareExchange(version, version + 1, at: base) {
                atomicMemoryFence(ordering: .releasing)
                return version
            }
        }
    }

    private func write(slot: Int, _ digest: SHA256Digest, _ entry: Entry) {
        let base = slot * Word.count
        let version = claim(base: base)
        slots.store(digest.words.0, at: base + Word.digest)
        slots.store(digest.words.1, at: base + Word.digest + 1)
        slots.store(digest.words.2, at: base + Word.digest + 2)
        slots.store(digest.words.3, at: base + Word.digest + 3)
        slots.store(UInt64(bitPattern: entry.expiresAt), at: base + Word.expiresAt)
        slots.store(UInt64(bitPattern: entry.notBefore), at: base + Word.notBefore)
        slots.store(UInt64(bitPattern: entry.issuedAt), at: base + Word.issuedAt)
        var flags = Flag.occupied
        if entry.revoked { flags |= Flag.revoked }
        if entry.hasDefaultAudience { flags |= Flag.defaultAudience }
        let tokenID = entry.probe?.tokenID.halves ?? (high: 0, low: 0)
        let sessionID = entry.probe?.sessionID?.halves ?? (high: 0, low: 0)
        if let probe = entry.probe {
            flags |= Flag.probe
            if probe.sessionID != nil { flags |= Flag.session }
        }
        slots.store(tokenID.high, at: base + Word.tokenID)
        slots.store(tokenID.low, at: base + Word.tokenID + 1)
        slots.store(sessionID.high, at: base + Word.sessionID)
        slots.store(sessionID.low, at: base + Word.sessionID + 1)
        slots.store(UInt64(UInt(bitPattern: entry.probe?.subjectFingerprint ?? 0)), at: base + Word.subject)
        slots.store((entry.checkedGeneration & Self.generationMask) << 8 | flags, at: base + Word.state)
        slots.storeReleasing(version + 2, at: base)
    }

    private func clear(slot: Int) {
        let base = slot * Word.count
        let version = claim(base: base)
        for word in Word.digest..<Word.count {
            slots.store(0, at: base + word)
        }
        slots.storeReleasing(version + 2, at: base)
    }

    // MARK: - The index

    private static func tag(of digest: SHA256Digest) -> UInt32 {
        UInt32(truncatingIfNeeded: digest.words.0 >> 32)
    }

    /// Where a tag's probe sequence starts: the tag scaled to the index (so the tag alone tells).
    private func home(of tag: UInt32) -> Int {
        Int((UInt64(tag) * UInt64(indexSize)) >> 32)
    }

    private func indexPosition(of digest: SHA256Digest) -> Int? {
        let tag = Self.tag(of: digest)
        var position = home(of: tag)
        for _ in 0..<indexSize {
            let word = index.load(position)
            if word == 0 { return nil }
            if UInt32(truncatingIfNeeded: word >> 32) == tag {
                let base = (Int(word & 0xFFFF_FFFF) - 1) * Word.count
                if slots.load(base + Word.digest) == digest.words.0
                    && slots.load(base + Word.digest + 1) == digest.words.1
                    && slots.load(base + Word.digest + 2) == digest.words.2
                    && slots.load(base + Word.digest + 3) == digest.words.3
                {
                    return position
                }
            }
            position = position + 1 == indexSize ? 0 : position + 1
        }
        return nil
    }

    private func addToIndex(_ digest: SHA256Digest, slot: Int) {
        let tag = Self.tag(of: digest)
        var position = home(of: tag)
        while index.load(position) != 0 {
            position = position + 1 == indexSize ? 0 : position + 1
        }
        index.storeReleasing(UInt64(tag) << 32 | UInt64(slot + 1), at: position)
    }

    /// Removes a slot's word from the index, moving later words of its cluster back so that no
    /// probe sequence is broken (backward-shift deletion). Each word moves by one store, so a reader
    /// may at worst miss an entry during the move, never find a wrong one (the slot's digest decides).
    private func removeFromIndex(slot: Int) {
        let tag = UInt32(truncatingIfNeeded: slots.load(slot * Word.count + Word.digest) >> 32)
        let wanted = UInt64(tag) << 32 | UInt64(slot + 1)
        var hole = home(of: tag)
        var steps = 0
        while index.load(hole) != wanted {
            hole = hole + 1 == indexSize ? 0 : hole + 1
            steps += 1
            guard steps < indexSize else { return }
        }
        var next = hole
        while true {
            next = next + 1 == indexSize ? 0 : next + 1
            let word = index.load(next)
            if word == 0 { break }
            let wordHome = home(of: UInt32(truncatingIfNeeded: word >> 32))
            // The word may move into the hole unless its home lies cyclically in (hole, next].
            let homeDistance = (next - wordHome + indexSize) % indexSize
            let holeDistance = (next - hole + indexSize) % indexSize
            if homeDistance >= holeDistance {
                index.store(word, at: hole)
                hole = next
            }
        }
        index.store(0, at: hole)
    }
}
