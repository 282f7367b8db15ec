import Testing
import TokenCore

@testable import TokenClient

/// The verified-token cache's bound and eviction order.
@Suite struct VerifiedTokenCacheTests {
    static func entry(expiresAt: Int64 = 1_000) -> VerifiedTokenCache.Entry {
        let claims = Claims(
            issuer: "i", subject: "u", audience: [], scopes: [], tokenID: "t", sessionID: "s", issuedAt: 0,
            expiresAt: expiresAt, notBefore: 0)
        return .init(claims: claims, keyID: "k", checkedGeneration: 0, revoked: false)
    }

    @Test func neverHoldsMoreThanItsCapacityAndEvictsTheOldestFirst() {
        var cache = VerifiedTokenCache(capacity: 3)
        for index in 0..<10 {
            cache.insert("token-\(index)", Self.entry())
            #expect(cache.count == min(index + 1, 3))
        }
        #expect(cache["token-6"] == nil)
        #expect(cache["token-7"] != nil)
        #expect(cache["token-9"] != nil)
    }

    @Test func reinsertingAKeyDoesNotTakeASecondSlot() {
        var cache = VerifiedTokenCache(capacity: 2)
        cache.insert("a", Self.entry())
        cache.insert("a", Self.entry())
        cache.insert("b", Self.entry())
        #expect(cache.count == 2)
        #expect(cache["a"] != nil)
    }

    @Test func removedAndExpiredEntriesGoAndAZeroCapacityCachesNothing() {
        var cache = VerifiedTokenCache(capacity: 4)
        cache.insert("old", Self.entry(expiresAt: 100))
        cache.insert("new", Self.entry(expiresAt: 900))
        cache.removeExpired(before: 100)
        #expect(cache["old"] == nil)
        #expect(cache["new"] != nil)
        cache.remove("new")
        #expect(cache.count == 0)

        var none = VerifiedTokenCache(capacity: 0)
        none.insert("a", Self.entry())
        #expect(none.count == 0)
    }
}
