import Logging
import Testing
import TokenCore
import TokenStore
import TokenTestSupport

@testable import TokenServer

/// The hub on a shared store whose log goes back (it lost writes) or changes epoch. The tests run
/// the fan-out (`publishNewEvents`) and the rounds of following (`followRound`) themselves.
@Suite struct RevocationHubEpochTests {
    static let logger = Logger(label: "revocation-hub-epoch-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A hub on a `MemoryLogStore` with `count` revocations stored, published and certified.
    static func openHub(
        publishing count: Int,
        certificationBound: Duration = .seconds(3_600)
    ) async throws -> (store: MemoryLogStore, hub: RevocationHub) {
        let store = MemoryLogStore()
        let hub = try await RevocationHub(
            store: store, clock: ManualClock(start: 1_000), queueLimit: 100, certificationBound: certificationBound,
            logger: logger)
        for index in 0..<count {
            hub.applyStored(try await store.revoke(Self.revocation("jti-\(index)")).event)
        }
        await hub.publishNewEvents()
        #expect(await hub.followRound(reading: store) == UInt64(count))
        try #require(hub.isCurrent(), "a hub that read the whole log does not vouch for it")
        return (store, hub)
    }

    static func revocation(_ tokenID: String) -> RevocationRequest {
        RevocationRequest(kind: .token, value: tokenID, revokedAt: 1_000, expiresAt: 9_000, reason: "test")
    }

    static func isRevoked(_ hub: RevocationHub, _ tokenID: String) -> Bool {
        hub.isRevoked(tokenID: tokenID, sessionID: "", subject: "nobody", issuedAt: 1_000)
    }

    /// Every item of a watcher's stream, once the hub ended it.
    static func drain(_ subscription: RevocationHub.Subscription) async -> [RevocationHub.Item] {
        var items: [RevocationHub.Item] = []
        for await item in subscription.items {
            items.append(item)
        }
        return items
    }

    @Test func aLogThatWentBackGetsANewEpochEndsTheStreamsAndHoldsAgainWhatItLost() async throws {
        let (store, hub) = try await Self.openHub(publishing: 3)
        let epoch = try #require(hub.position?.epoch)
        let watcher = hub.subscribe()

        store.loseWrites(after: 1)
        _ = await hub.followRound(reading: store)

        let position = try #require(hub.position, "the hub is still taking up the new epoch")
        #expect(position.epoch != epoch)
        #expect(try await store.revocationLogHead().epoch == position.epoch)
        // The watcher's stream counted in the old epoch: it is ended, with nothing more sent.
        #expect(await Self.drain(watcher).isEmpty)
        #expect(hub.unsubscribe(watcher.id) == .epochChanged)
        // What the store lost is stored again, as events of the new epoch, and still refused here.
        let stored = store.events
        #expect(Set(stored.map(\.value)) == ["jti-0", "jti-1", "jti-2"], "the store holds \(stored)")
        #expect(stored.filter { $0.value == "jti-1" }.allSatisfy { $0.seq > 1 })
        for tokenID in ["jti-0", "jti-1", "jti-2"] {
            #expect(Self.isRevoked(hub, tokenID))
        }
        // The next round confirms the new epoch: the hub vouches again.
        await hub.publishNewEvents()
        _ = await hub.followRound(reading: store)
        #expect(hub.isCurrent())
    }

    @Test func seqsHandedOutAgainAreCaughtWhenTheCounterPassedWhatWasSeen() async throws {
        let (store, hub) = try await Self.openHub(publishing: 3)
        let epoch = try #require(hub.position?.epoch)

        // The store lost seqs 2 and 3; another instance then stored five revocations, numbered 2 to 6.
        store.loseWrites(after: 1)
        for index in 0..<5 {
            _ = try await store.revoke(Self.revocation("other-\(index)"))
        }
        _ = await hub.followRound(reading: store)

        // Reading on after seq 3 would skip other-0 and other-1: the hub took a new epoch instead.
        #expect(hub.position?.epoch != epoch)
        for index in 0..<5 {
            #expect(Self.isRevoked(hub, "other-\(index)"), "other-\(index) was skipped")
        }
        #expect(Set(store.events.map(\.value)).isSuperset(of: ["jti-1", "jti-2"]))
    }

    @Test func theFanOutPublishesNothingPastALogThatWentBack() async throws {
        let (store, hub) = try await Self.openHub(publishing: 3)
        let watcher = hub.subscribe()

        // Seqs 2 to 6 now name other events; the fan-out is woken for 6 before any round.
        store.loseWrites(after: 1)
        var latest: RevocationEvent?
        for index in 0..<5 {
            latest = try await store.revoke(Self.revocation("other-\(index)")).event
        }
        hub.applyStored(try #require(latest))
        await hub.publishNewEvents()

        // Publishing 4 to 6 as what follows 3 would skip other-0 and other-1 for good.
        #expect(hub.publishedSeq == 3)
        #expect(!hub.isCurrent())
        hub.heartbeat()
        _ = await hub.followRound(reading: store)
        let items = await Self.drain(watcher)
        #expect(items.isEmpty, "sent past a log that went back: \(items)")
        #expect(hub.unsubscribe(watcher.id) == .epochChanged)
        for index in 0..<5 {
            #expect(Self.isRevoked(hub, "other-\(index)"))
        }
    }

    @Test func aRevokeAnsweredWithAPublishedSeqOfAnotherEventStopsTheHeartbeats() async throws {
        let (store, hub) = try await Self.openHub(publishing: 3)
        let epoch = try #require(hub.position?.epoch)
        let watcher = hub.subscribe()

        store.loseWrites(after: 1)
        // Seq 2 again, for another revocation than the one published as 2.
        let reused = try await store.revoke(Self.revocation("jti-new")).event
        #expect(reused.seq == 2)
        hub.applyStored(reused)
        #expect(!hub.isCurrent())
        hub.heartbeat()

        _ = await hub.followRound(reading: store)
        #expect(hub.position?.epoch != epoch)
        let items = await Self.drain(watcher)
        #expect(items.isEmpty, "sent after a seq was handed out again: \(items)")
        #expect(hub.unsubscribe(watcher.id) == .epochChanged)
        #expect(Self.isRevoked(hub, "jti-new"))
    }

    @Test func anEpochStartedByAnotherInstanceIsTakenUpAsItIs() async throws {
        let (store, hub) = try await Self.openHub(publishing: 2)
        let epoch = try #require(hub.position?.epoch)
        let theirs = try await store.startRevocationLogEpoch(replacing: epoch)
        _ = try await store.revoke(Self.revocation("theirs"))

        _ = await hub.followRound(reading: store)

        #expect(hub.position?.epoch == theirs)
        #expect(try await store.revocationLogHead().epoch == theirs, "the hub started yet another epoch")
        #expect(Self.isRevoked(hub, "theirs"))
        // Nothing was lost, so nothing was written back.
        #expect(store.events.count == 3)
    }

    @Test(.timeLimit(.minutes(1)))
    func heartbeatsStopOnceNoRoundConfirmedTheStateWithinTheBound() async throws {
        let (store, hub) = try await Self.openHub(publishing: 1, certificationBound: .milliseconds(200))
        let watcher = hub.subscribe()
        hub.heartbeat()

        // No round since: past the bound the hub no longer vouches, and sends no heartbeat.
        #expect(try await eventually(within: .seconds(10)) { !hub.isCurrent() })
        hub.heartbeat()
        hub.heartbeat()
        _ = await hub.followRound(reading: store)
        #expect(hub.isCurrent())
        hub.heartbeat()

        hub.unsubscribe(watcher.id)
        let items = await Self.drain(watcher)
        #expect(items.count == 2, "expected the heartbeats before the bound and after the round, got \(items)")
    }
}
