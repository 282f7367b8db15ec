import Testing
import TokenCore
import TokenWire

@testable import TokenClient

/// The validator's handling of the stream's key events, without a server.
@Suite struct KeyEventTests {
    static let now = ContinuousClock.now

    static func published(_ key: SigningKey, _ keyID: String, _ state: KeyState) -> WirePublicKey {
        WirePublicKey(
            keyID: keyID, algorithm: key.algorithm.rawValue, publicKeyDER: key.publicKey.spkiDER, state: state)
    }

    static func ring(_ keys: [WirePublicKey], seq: UInt64) -> WireRevocationEvent {
        WireRevocationEvent(seq: seq, kind: .keyRing, revokedAt: 100, keys: keys)
    }

    /// Storage holding `keys`, whose mirror applied a live batch of `events` (as the validator does
    /// before the key events).
    static func storage(
        keys: KeySet,
        applying events: [WireRevocationEvent]
    ) -> (TokenValidatorStorage, RevocationBatch) {
        var storage = TokenValidatorStorage(cacheCapacity: 10)
        storage.keys = keys
        let batch = RevocationBatch(events: events, headSeq: events.last?.seq ?? 0, snapshot: false, epoch: 1)
        _ = storage.mirror.apply(RevocationBatch(headSeq: 0, snapshot: false, epoch: 1), at: now)
        _ = storage.mirror.apply(batch, at: now)
        return (storage, batch)
    }

    /// What the validator parses outside its lock.
    static func rings(
        _ batch: RevocationBatch,
        _ storage: TokenValidatorStorage
    ) -> [UInt64: Result<KeySet, TokenValidatorStorage.KeyRingRefusal>] {
        TokenValidatorStorage.publishedRings(in: batch, reusing: storage.keys)
    }

    @Test func aRingReplacesTheKeysAndARevokedKeyLeavesThem() throws {
        let (a, b) = (try SigningKey.generate(.edDSA), try SigningKey.generate(.es256))
        let c = try SigningKey.generate(.edDSA)
        let before = KeySet(keys: ["a": a.publicKey, "b": b.publicKey])
        let ring = Self.ring(
            [Self.published(b, "b", .active), Self.published(c, "c", .next), Self.published(a, "a", .retiring)], seq: 1)
        var (storage, batch) = Self.storage(keys: before, applying: [ring])
        let outcome = storage.applyKeyEvents(of: batch, rings: Self.rings(batch, storage))
        #expect(outcome.refusals.isEmpty)
        #expect(storage.keys?.keyIDs == ["a", "b", "c"])
        #expect(storage.keys?["c"] == c.publicKey)
        // A key held already is kept, not parsed again.
        #expect(storage.keys?["a"] === before["a"])
        #expect(storage.keyEventsApplied == 1)

        // The key's revocation, then the ring without it: the key is gone, and revoked.
        let revocation = WireRevocationEvent(seq: 2, kind: .key, value: "a", revokedAt: 100, expiresAt: 10_000)
        let without = Self.ring([Self.published(b, "b", .active), Self.published(c, "c", .next)], seq: 3)
        var (after, next) = Self.storage(keys: try #require(storage.keys), applying: [revocation, without])
        #expect(after.applyKeyEvents(of: next, rings: Self.rings(next, after)).refusals.isEmpty)
        #expect(after.keys?.keyIDs == ["b", "c"])
        #expect(after.mirror.revocations.isRevoked(keyID: "a"))

        // A revocation alone drops the key from the keys too.
        var (alone, only) = Self.storage(keys: before, applying: [revocation])
        #expect(alone.applyKeyEvents(of: only, rings: Self.rings(only, alone)).refusals.isEmpty)
        #expect(alone.keys?.keyIDs == ["b"])
    }

    @Test func aRingThatIsNoRingIsRefusedWholeAndTheKeysStay() throws {
        let (a, b) = (try SigningKey.generate(.edDSA), try SigningKey.generate(.es256))
        let before = KeySet(keys: ["a": a.publicKey])
        let active = Self.published(a, "a", .active)
        let next = Self.published(b, "b", .next)
        var malformed = next
        malformed.publicKeyDER = Array(malformed.publicKeyDER.dropLast(3))
        var wrongAlgorithm = next
        wrongAlgorithm.algorithm = "EdDSA"
        let broken: [(String, [WirePublicKey])] = [
            ("unknown state 9", [active, Self.published(b, "b", KeyState(rawValue: 9))]),
            ("no state", [active, Self.published(b, "b", .unspecified)]),
            ("malformed", [active, malformed]),
            ("malformed", [active, wrongAlgorithm]),
            ("repeated kid", [active, Self.published(b, "a", .next)]),
            ("empty or repeated kid", [active, Self.published(b, "", .next)]),
            ("2 ACTIVE and 0 NEXT", [active, Self.published(b, "b", .active)]),
            ("0 ACTIVE and 0 NEXT", []),
        ]
        for (reason, keys) in broken {
            var (storage, batch) = Self.storage(keys: before, applying: [Self.ring(keys, seq: 1)])
            let outcome = storage.applyKeyEvents(of: batch, rings: Self.rings(batch, storage))
            #expect(outcome.refusals.count == 1, "\(reason)")
            #expect(outcome.refusals.first?.contains(reason) == true, "\(outcome.refusals) for \(reason)")
            #expect(storage.keys?.keyIDs == ["a"], "\(reason)")
            #expect(storage.keyEventsApplied == 0)
        }
        let nameless = WireRevocationEvent(seq: 1, kind: .key, value: "", expiresAt: 10_000)
        var (storage, batch) = Self.storage(keys: before, applying: [nameless])
        let refusals = storage.applyKeyEvents(of: batch, rings: Self.rings(batch, storage)).refusals
        #expect(refusals == ["key revocation event 1 names no key"])
        #expect(storage.keys?.keyIDs == ["a"])
    }
}
