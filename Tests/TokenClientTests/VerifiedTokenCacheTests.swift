import Synchronization
import Testing
import TokenCore

@testable import TokenClient

/// The verified-token cache: its key, its bound and eviction order, and lock-free reads under writes.
@Suite struct VerifiedTokenCacheTests {
    static func entry(expiresAt: Int64 = 1_000, issuedAt: Int64 = 0, generation: UInt64 = 0) -> VerifiedTokenCache.Entry
    {
        VerifiedTokenCache.Entry(
            expiresAt: expiresAt, notBefore: 0, issuedAt: issuedAt, hasDefaultAudience: true,
            probe: RevocationProbe(
                tokenID: TokenID(high: UInt64(bitPattern: expiresAt), low: 7), sessionID: nil, subjectFingerprint: 42,
                issuedAt: issuedAt),
            checkedGeneration: generation, revoked: false)
    }

    static func key(_ text: String) -> SHA256Digest {
        SHA256Digest(of: text)
    }

    @Test func neverHoldsMoreThanItsCapacityAndEvictsTheOldestFirst() {
        let cache = VerifiedTokenCache(capacity: 3)
        for index in 0..<10 {
            cache.insert(Self.key("token-\(index)"), Self.entry(expiresAt: Int64(index)))
            #expect(cache.count == min(index + 1, 3))
        }
        #expect(cache.lookup(Self.key("token-6")) == nil)
        #expect(cache.lookup(Self.key("token-7"))?.entry == Self.entry(expiresAt: 7))
        #expect(cache.lookup(Self.key("token-9"))?.entry == Self.entry(expiresAt: 9))
    }

    @Test func reinsertingAKeyDoesNotTakeASecondSlot() {
        let cache = VerifiedTokenCache(capacity: 2)
        cache.insert(Self.key("a"), Self.entry(expiresAt: 1))
        cache.insert(Self.key("a"), Self.entry(expiresAt: 2))
        cache.insert(Self.key("b"), Self.entry())
        #expect(cache.count == 2)
        #expect(cache.lookup(Self.key("a"))?.entry.expiresAt == 2)
    }

    @Test func tokensThatDifferInOneByteNeverShareAnEntry() {
        let cache = VerifiedTokenCache(capacity: 16)
        let token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
        cache.insert(Self.key(token), Self.entry(expiresAt: 100))
        var bytes = Array(token.utf8)
        for position in [0, bytes.count / 2, bytes.count - 1] {
            let original = bytes[position]
            bytes[position] = original == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(cache.lookup(Self.key(String(decoding: bytes, as: UTF8.self))) == nil, "byte \(position) changed")
            bytes[position] = original
        }
        #expect(cache.lookup(Self.key(token + "x")) == nil)
        #expect(cache.lookup(Self.key(String(token.dropLast()))) == nil)
        #expect(cache.lookup(Self.key(token))?.entry.expiresAt == 100)
    }

    @Test func removedAndExpiredEntriesGoAndAZeroCapacityCachesNothing() {
        let cache = VerifiedTokenCache(capacity: 4)
        cache.insert(Self.key("old"), Self.entry(expiresAt: 100))
        cache.insert(Self.key("new"), Self.entry(expiresAt: 900))
        cache.removeExpired(before: 100)
        #expect(cache.lookup(Self.key("old")) == nil)
        #expect(cache.lookup(Self.key("new")) != nil)
        #expect(cache.count == 1)

        let none = VerifiedTokenCache(capacity: 0)
        none.insert(Self.key("a"), Self.entry())
        #expect(none.count == 0)
        #expect(none.lookup(Self.key("a")) == nil)
    }

    @Test func evictionsKeepEveryLiveEntryFindable() {
        // Many evictions through a small index: backward-shift deletion must never break a probe chain.
        let cache = VerifiedTokenCache(capacity: 64)
        for index in 0..<5_000 {
            cache.insert(Self.key("token-\(index)"), Self.entry(expiresAt: Int64(index)))
            if index % 97 == 0 {
                for live in max(0, index - 63)...index {
                    #expect(cache.lookup(Self.key("token-\(live)"))?.entry.expiresAt == Int64(live))
                }
            }
        }
        #expect(cache.count == 64)
        #expect(cache.lookup(Self.key("token-\(5_000 - 65)")) == nil)
    }

    @Test func aCheckIsRecordedOnlyOnTheEntryItWasMadeFor() throws {
        let cache = VerifiedTokenCache(capacity: 1)
        cache.insert(Self.key("a"), Self.entry(expiresAt: 1, generation: 3))
        let found = try #require(cache.lookup(Self.key("a")))
        cache.recordCheck(found, generation: 4, revoked: true)
        let checked = try #require(cache.lookup(Self.key("a")))
        #expect(checked.entry.checkedGeneration == 4)
        #expect(checked.entry.revoked)
        #expect(checked.entry.expiresAt == 1)

        // The slot now holds another token: a late record of the first one's check must not land on it.
        cache.insert(Self.key("b"), Self.entry(expiresAt: 2, generation: 3))
        cache.recordCheck(checked, generation: 9, revoked: false)
        let other = try #require(cache.lookup(Self.key("b")))
        #expect(other.entry == Self.entry(expiresAt: 2, generation: 3))
    }

    @Test func readersNeverSeeATornEntryWhileWritersEvict() async {
        // Each token's entry is derived from its number, so any mix of two entries shows.
        let cache = VerifiedTokenCache(capacity: 512)
        let race = Race()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<40 {
                    for index in 0..<1_000 {
                        let number = Int64(index + round % 2 * 1_000)
                        cache.insert(Self.key("token-\(number)"), Self.entry(expiresAt: number, issuedAt: -number))
                    }
                    await Task.yield()
                }
                race.stop.store(true, ordering: .relaxed)
            }
            for _ in 0..<2 {
                group.addTask {
                    var index: Int64 = 0
                    while !race.stop.load(ordering: .relaxed) {
                        if let found = cache.lookup(Self.key("token-\(index)")) {
                            race.hits.add(1, ordering: .relaxed)
                            if found.entry != Self.entry(expiresAt: index, issuedAt: -index) {
                                race.torn.add(1, ordering: .relaxed)
                            }
                        }
                        index = (index + 1) % 2_000
                        if index % 100 == 0 {
                            // Tests share the pool's threads: a task that waits for another must yield.
                            await Task.yield()
                        }
                    }
                }
            }
        }
        #expect(race.torn.load(ordering: .relaxed) == 0)
        #expect(race.hits.load(ordering: .relaxed) > 0)
        #expect(cache.count == 512)
    }
}

/// What the tasks of a race share.
private final class Race: Sendable {
    let stop = Atomic(false)
    let torn = Atomic(0)
    let hits = Atomic(0)
}
