import NIOCore
import Testing

@testable import TokenRPC

@Suite struct DeadlineQueueTests {
    private func entry(_ nanoseconds: Int64, id: UInt64) -> DeadlineQueue.Entry {
        DeadlineQueue.Entry(deadline: .uptimeNanoseconds(UInt64(nanoseconds)), callID: id, serial: id)
    }

    @Test func popsDueEntriesEarliestFirst() {
        var queue = DeadlineQueue()
        let times: [Int64] = [50, 10, 40, 30, 20, 60, 10, 5]
        for (index, time) in times.enumerated() {
            queue.push(entry(time, id: UInt64(index)))
        }
        #expect(queue.earliest == .uptimeNanoseconds(5))
        var popped: [UInt64] = []
        while let due = queue.popDue(now: .uptimeNanoseconds(40)) {
            popped.append(due.deadline.uptimeNanoseconds)
        }
        #expect(popped == [5, 10, 10, 20, 30, 40])
        #expect(queue.count == 2)
        #expect(queue.earliest == .uptimeNanoseconds(50))
    }

    @Test func pruneKeepsOnlyLiveEntriesInOrder() {
        var queue = DeadlineQueue()
        for id in UInt64(1)...20 {
            queue.push(entry(Int64(100 - id), id: id))
        }
        queue.prune { $0.callID % 2 == 0 }
        #expect(queue.count == 10)
        var ids: [UInt64] = []
        while let due = queue.popDue(now: .uptimeNanoseconds(1_000)) {
            ids.append(due.callID)
        }
        #expect(ids == [20, 18, 16, 14, 12, 10, 8, 6, 4, 2])
    }
}
