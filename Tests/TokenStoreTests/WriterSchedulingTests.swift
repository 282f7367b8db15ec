#if os(Linux)
import Foundation
import Glibc
import Synchronization
import Testing

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
        // Waiting for work: its wakeups take no core from a running thread; readers are unchanged.
        let policies = Self.storeThreadPolicies()
        #expect(policies["store writer"] == Self.waitingForACore)
        #expect(policies["store reader 1"] == Self.preempting)

        // Processing a batch (this hook runs on the writer thread after the commit): as usual.
        let duringBatch = Mutex<Int32?>(nil)
        let body: PendingWrites<Int>.Body = { database throws(TokenStoreError) in try database.execute("SELECT 1") }
        let results = await store.writeEach([body], afterCommit: { _ in duringBatch.withLock { $0 = sched_getscheduler(0) } })
        #expect(results.count == 1)
        #expect(duringBatch.withLock { $0 } == Self.preempting)
        await store.close()
    }

    /// The scheduling policy of each thread whose name begins with "store ".
    private static func storeThreadPolicies() -> [String: Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        var policies: [String: Int32] = [:]
        for task in tasks {
            guard let thread = pid_t(task),
                let name = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                    .trimmingCharacters(in: .newlines),
                name.hasPrefix("store ")
            else { continue }
            policies[name] = sched_getscheduler(thread)
        }
        return policies
    }
}
#endif
