#if os(Linux)
import Glibc
import Synchronization
import Testing
import TokenTestSupport

@testable import TokenStore

@Suite("Embedded store: the writer's scheduling")
struct WriterSchedulingTests {
    /// SCHED_OTHER and SCHED_BATCH.
    private static let preempting: Int32 = 0
    private static let waitingForACore: Int32 = 3

    @Test func theWriterGathersWithoutPreemptingAndCommitsAsUsual() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        // Waiting for work since it opened: its wakeups take no core from a running thread. Other
        // tests' stores may run at the same time, with writers of the same name in the middle of a
        // batch, so one writer waiting is what this store's shows. Readers never change policy.
        // It starts waiting a moment after `open` returns.
        _ = try await eventually(within: .seconds(5)) {
            (try? Self.storeThreadPolicies())?["store writer"]?.contains(Self.waitingForACore) ?? false
        }
        let policies = try Self.storeThreadPolicies()
        #expect(policies["store writer", default: []].contains(Self.waitingForACore), "\(policies)")
        let readers = policies["store reader 1", default: []]
        #expect(!readers.isEmpty && readers.allSatisfy { $0 == Self.preempting })

        // Processing a batch (this hook runs on the writer thread after the commit): as usual.
        let duringBatch = Mutex<Int32?>(nil)
        let body: PendingWrite<Int>.Body = { database throws(TokenStoreError) in try database.execute("SELECT 1") }
        let results = await store.writeEach([body], afterCommit: { _ in duringBatch.withLock { $0 = sched_getscheduler(0) } })
        #expect(results.count == 1)
        #expect(duringBatch.withLock { $0 } == Self.preempting)
        await store.close()
    }

    /// The scheduling policies of the threads whose name begins with "store ", by name.
    private static func storeThreadPolicies() throws -> [String: [Int32]] {
        var policies: [String: [Int32]] = [:]
        for thread in try StoreFixture.threads() where thread.name.hasPrefix("store ") {
            policies[thread.name, default: []].append(sched_getscheduler(thread.id))
        }
        return policies
    }
}
#endif
