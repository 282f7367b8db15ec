import Foundation
import Logging
import Testing
import TokenCore
import TokenStore
import TokenTestSupport

@testable import TokenServer

@Suite struct RevocationHubTests {
    /// A hub on a fresh store (behind `HookedStore`) in a new temporary directory, which the caller removes.
    private static func openHub() async throws -> (directory: String, store: HookedStore, hub: RevocationHub) {
        let directory = try TemporaryDirectory.make(prefix: "revocation-hub-test")
        let logger = Logger(label: "revocation-hub-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = HookedStore(base: try await EmbeddedTokenStore(directory: directory + "/data", logger: logger))
        let hub = try await RevocationHub(
            store: store, clock: ManualClock(start: 1_000), queueLimit: 100, logger: logger)
        return (directory, store, hub)
    }

    /// Runs `body` with a hub on a fresh store and its fan-out running, then stops the fan-out,
    /// closes the store and removes the directory, also when `body` throws or returns early.
    private static func withRunningHub(
        heartbeatInterval: Duration,
        _ body: (HookedStore, RevocationHub) async throws -> Void
    ) async throws {
        let (directory, store, hub) = try await openHub()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pump = Task { await hub.run(heartbeatInterval: heartbeatInterval) }
        var failure: (any Error)?
        do {
            try await body(store, hub)
        } catch {
            failure = error
        }
        pump.cancel()
        await pump.value
        await store.close()
        if let failure { throw failure }
    }

    /// Ticks the hub's heartbeat and reads the watcher's next item.
    /// - Returns: whether the item is a heartbeat; when it is not, `failure` is recorded with it.
    private static func tickExpectingHeartbeat(
        _ hub: RevocationHub,
        _ items: inout AsyncStream<RevocationHub.Item>.Iterator,
        else failure: String
    ) async throws -> Bool {
        hub.heartbeat()
        let item = try #require(await items.next())
        guard case .heartbeat = item else {
            Issue.record("\(failure), got \(item)")
            return false
        }
        return true
    }

    @Test func aWatcherIsCutOffByTheEventsQueuedForItNotByItsItems() async throws {
        try await Self.withRunningHub(heartbeatInterval: .seconds(3_600)) { store, hub in
            let slow = hub.subscribe()
            let keepingUp = hub.subscribe()
            var keepingUpItems = keepingUp.items.makeAsyncIterator()

            // Two items of 60 events each: two items are far below the limit, 120 events are over it.
            var received: [Int] = []
            for round in 0..<2 {
                var last: RevocationEvent?
                for index in 0..<60 {
                    let request = RevocationRequest(
                        kind: .token, value: "jti-\(round)-\(index)", revokedAt: 1_000, expiresAt: 9_000,
                        reason: "test")
                    last = try await store.revoke(request).event
                }
                hub.applyStored(try #require(last))
                let item = try #require(await keepingUpItems.next())
                keepingUp.took(item)
                received.append(item.eventCount)
            }

            #expect(received == [60, 60])
            // The slow watcher was cut off when the second item would have put 120 events in its queue;
            // it still gets what was queued before.
            #expect(hub.unsubscribe(slow.id) == .overflowed)
            var slowEvents = 0
            for await item in slow.items {
                slowEvents += item.eventCount
            }
            #expect(slowEvents == 60)
            #expect(hub.unsubscribe(keepingUp.id) == nil)
        }
    }

    @Test func theFanOutGoesOnWhenAnEventWasPurgedBeforeItWentOut() async throws {
        try await Self.withRunningHub(heartbeatInterval: .milliseconds(20)) { store, hub in
            let watcher = hub.subscribe()

            // An event that expired before the fan-out read it: the purge drops it unpublished.
            _ = try await store.revoke(
                RevocationRequest(kind: .token, value: "expired", revokedAt: 100, expiresAt: 500, reason: "test"))
            try await store.purgeExpired(now: 1_000)
            let fresh = try await store.revoke(
                RevocationRequest(kind: .token, value: "fresh", revokedAt: 1_000, expiresAt: 9_000, reason: "test"))
            hub.applyStored(fresh.event)

            // The fresh event must reach the watcher; a fan-out that gave up would send heartbeats only.
            var delivered: [RevocationEvent] = []
            var heartbeats = 0
            for await item in watcher.items {
                watcher.took(item)
                if case .events(let events) = item {
                    delivered = events
                    break
                }
                heartbeats += 1
                if heartbeats == 50 { break }
            }
            #expect(delivered == [fresh.event])
            #expect(hub.publishedSeq == fresh.event.seq)
            hub.unsubscribe(watcher.id)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFailedReadOfTheLogIsRetriedAndNoHeartbeatClaimsCurrencyMeanwhile() async throws {
        // Heartbeats only when the test asks for them.
        try await Self.withRunningHub(heartbeatInterval: .seconds(3_600)) { store, hub in
            let watcher = hub.subscribe()
            var items = watcher.items.makeAsyncIterator()

            var failures = store.failures.makeAsyncIterator()
            store.failingReads.store(.max, ordering: .relaxed)
            let event = try await store.revoke(
                RevocationRequest(kind: .token, value: "jti", revokedAt: 1_000, expiresAt: 9_000, reason: "test")
            ).event
            hub.applyStored(event)
            // The fan-out's read failed: the event is acknowledged but not sent. One heartbeat may
            // still go out (the fan-out always lags a little); the next one would claim the watcher
            // current while it misses the event.
            #expect(await failures.next() != nil)
            guard try await Self.tickExpectingHeartbeat(hub, &items, else: "expected the heartbeat of the first tick")
            else { return }
            hub.heartbeat()
            store.failingReads.store(0, ordering: .relaxed)

            let second = try #require(await items.next())
            guard case .events(let events) = second else {
                Issue.record("a heartbeat went out a tick after the acknowledged revocation")
                return
            }
            #expect(events == [event])
            guard try await Self.tickExpectingHeartbeat(hub, &items, else: "no heartbeat once the watcher was current")
            else { return }
            hub.unsubscribe(watcher.id)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anAcknowledgedEventPurgedBeforeItWentOutDoesNotStopTheHeartbeats() async throws {
        // No pump: the test runs the fan-out itself, after the purge.
        let (directory, store, hub) = try await Self.openHub()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watcher = hub.subscribe()
        var items = watcher.items.makeAsyncIterator()

        let expired = try await store.revoke(
            RevocationRequest(kind: .token, value: "jti", revokedAt: 100, expiresAt: 500, reason: "test")
        ).event
        hub.applyStored(expired)
        try await store.purgeExpired(now: 1_000)
        await hub.publishNewEvents()

        // The log no longer holds the event: having read that, the hub counts the watcher current.
        try #require(hub.publishedSeq == expired.seq)
        for _ in 0..<2 {
            guard try await Self.tickExpectingHeartbeat(hub, &items, else: "expected a heartbeat") else { return }
        }
        hub.unsubscribe(watcher.id)
        await store.close()
    }
}
