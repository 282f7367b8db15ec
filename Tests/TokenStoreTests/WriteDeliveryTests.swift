import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import TokenStore

@Suite("Embedded store: answers delivered on the caller's event loop")
struct WriteDeliveryTests {
    /// What one completion saw: its session, whether it ran on the loop it was given, and its result.
    private struct Answer: Sendable {
        let sessionID: String
        let onItsLoop: Bool
        let stored: Bool
        let rejected: Bool
    }

    @Test func createSessionAnswersOnTheGivenLoopEvenWhenBatchesMixLoops() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        try await store.createSession(StoreFixture.session("taken"), refreshToken: nil)

        let perLoop = 40
        let answers = Mutex<[Answer]>([])
        let (done, signalDone) = AsyncStream<Void>.makeStream()
        let expected = loops.count * (perLoop + 1)
        for (loopIndex, loop) in loops.enumerated() {
            // Submitted from both loops at once, so batches hold writes of both.
            loop.execute {
                let ids = (0..<perLoop).map { "s-\(loopIndex)-\($0)" } + ["taken"]
                for id in ids {
                    store.createSession(StoreFixture.session(id), refreshToken: nil, on: loop) { result in
                        let answer = Answer(
                            sessionID: id,
                            onItsLoop: loop.inEventLoop,
                            stored: (try? result.get()) != nil,
                            rejected: Self.failure(result)?.isRejected == true
                        )
                        if answers.withLock({ $0.append(answer); return $0.count }) == expected {
                            signalDone.finish()
                        }
                    }
                }
            }
        }
        for await _ in done {}

        let all = answers.withLock { $0 }
        #expect(all.count == expected)
        #expect(all.allSatisfy { $0.onItsLoop })
        #expect(all.filter { $0.stored }.count == loops.count * perLoop)
        // The duplicate of each loop was refused, on its loop, without failing the others.
        #expect(all.filter { $0.sessionID == "taken" }.map(\.rejected) == [true, true])
        #expect(try await store.session(id: "s-1-39")?.sessionID == "s-1-39")
        await store.close()
        try await group.shutdownGracefully()
    }

    @Test func createSessionOnAClosedStoreAnswersAtOnceWithUnavailable() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await fixture.open()
        await store.close()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let answer = Mutex<Result<Void, TokenStoreError>?>(nil)
        store.createSession(StoreFixture.session("s1"), refreshToken: nil, on: group.next()) { result in
            answer.withLock { $0 = result }
        }
        let result = try #require(answer.withLock { $0 })
        #expect(Self.failure(result)?.isUnavailable == true)
        try await group.shutdownGracefully()
    }

    private static func failure(_ result: Result<Void, TokenStoreError>) -> TokenStoreError? {
        if case .failure(let error) = result { return error }
        return nil
    }
}
