import Foundation
import Logging
import MetricsTestKit
import Testing
import TokenCore
import TokenStore
import TokenTestSupport

@testable import TokenServer

/// The revocation hub's metrics, recorded into a test backend (nothing is bootstrapped).
@Suite struct RevocationHubMetricsTests {
    @Test func watchersAreCountedAndTheFanOutLagIsRecorded() async throws {
        let directory = try TemporaryDirectory.make(prefix: "revocation-hub-metrics")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try await EmbeddedTokenStore(directory: directory + "/data", logger: logger)
        let backend = TestMetrics()
        let hub = try await RevocationHub(
            store: store,
            clock: ManualClock(start: 1_000),
            queueLimit: 100,
            logger: logger,
            metricsFactory: backend
        )
        let pump = Task { await hub.run(heartbeatInterval: .seconds(3_600)) }

        let first = hub.subscribe()
        let second = hub.subscribe()
        let watchers = try backend.expectGauge("token_watchers_connected")
        #expect(watchers.lastValue == 2)
        hub.unsubscribe(second.id)
        #expect(watchers.lastValue == 1)

        let lag = try backend.expectTimer("token_revocation_fanout_lag_seconds")
        #expect(lag.values.isEmpty)
        let stored = try await store.revoke(
            RevocationRequest(kind: .token, value: "jti-1", revokedAt: 1_000, expiresAt: 9_000, reason: "test")
        )
        hub.applyStored(stored.event)
        var items = first.items.makeAsyncIterator()
        let item = try #require(await items.next())
        #expect(item.eventCount == 1)
        // Recorded before the events were handed out: one measurement, of a non-negative lag.
        #expect(lag.values.count == 1)
        #expect((lag.values.first ?? -1) >= 0)

        hub.unsubscribe(first.id)
        #expect(watchers.lastValue == 0)
        pump.cancel()
        await pump.value
        await store.close()
    }
}
