import Dispatch
import Testing

@testable import TokenStore

@Suite("Job queue: group commit gathering")
struct JobQueueTests {
    /// A queue that gathers from its first batch on.
    private func gatheringQueue(window: Duration, jobs: Int) -> JobQueue<Int> {
        JobQueue(gathering: .init(window: window, jobs: jobs, busyBatch: 0))
    }

    /// Runs `takeAll` on a thread of its own, as the store's worker does.
    private func takeOnThread(_ queue: JobQueue<Int>) async -> [Int]? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: queue.takeAll())
            }
        }
    }

    @Test func gatheringEndsAsSoonAsEnoughJobsWait() async {
        // The window is far longer than any test may run: only reaching 3 jobs can end the wait.
        let queue = gatheringQueue(window: .seconds(3_600), jobs: 3)
        #expect(queue.enqueue(1))
        async let taken = takeOnThread(queue)
        #expect(queue.enqueue(2))
        #expect(queue.enqueue(3))
        #expect(await taken == [1, 2, 3])
    }

    @Test func gatheringEndsWhenTheWindowCloses() async {
        // 100 jobs never come: the batch leaves with the one there is once the window closes.
        let queue = gatheringQueue(window: .milliseconds(5), jobs: 100)
        #expect(queue.enqueue(7))
        #expect(await takeOnThread(queue) == [7])
    }

    @Test func closingEndsGatheringWithThePendingJobsThenNil() async {
        let queue = gatheringQueue(window: .seconds(3_600), jobs: 10)
        #expect(queue.enqueue(1))
        async let taken = takeOnThread(queue)
        queue.close()
        #expect(await taken == [1])
        #expect(!queue.enqueue(2))
        #expect(queue.takeAll() == nil)
    }

    @Test func onlyABusyBatchIsFollowedByGathering() async {
        let queue = JobQueue<Int>(gathering: .init(window: .seconds(3_600), jobs: 10, busyBatch: 2))
        // The first batch follows none: it leaves with its one job at once.
        #expect(queue.enqueue(1))
        #expect(await takeOnThread(queue) == [1])
        // So does the second: a batch of one is not busy.
        #expect(queue.enqueue(2))
        #expect(queue.enqueue(3))
        #expect(await takeOnThread(queue) == [2, 3])
        // A batch of two is: the next one waits for 10 jobs (or the hour-long window).
        #expect(queue.enqueue(4))
        async let taken = takeOnThread(queue)
        for job in 5...13 {
            #expect(queue.enqueue(job))
        }
        #expect(await taken == Array(4...13))
    }
}
