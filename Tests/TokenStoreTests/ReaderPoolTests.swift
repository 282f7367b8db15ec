import Dispatch
import Testing
@testable import TokenStore

@Suite("Embedded store: reader connections")
struct ReaderPoolTests {
    @Test func aLongReadHoldsUpNoOtherRead() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await EmbeddedTokenStore(
            directory: fixture.dataDirectory, readerCount: 2, logger: StoreFixture.logger)
        try await store.createSession(StoreFixture.session("s1"), refreshToken: nil)
        let gate = DispatchSemaphore(value: 0)
        let (started, signalStarted) = AsyncStream<Void>.makeStream()
        let long = Task {
            try await store.read { _ in
                signalStarted.yield()
                gate.wait()
                return 42
            }
        }
        var startedEvents = started.makeAsyncIterator()
        await startedEvents.next()
        // A failure detector, not a synchronisation: with one reader the next read would wait for
        // the gate for ever, so after a generous delay the watchdog opens it and the test fails.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            gate.signal()
            return true
        }
        #expect(try await store.session(id: "s1")?.subject == "alice")
        watchdog.cancel()
        #expect(await (try? watchdog.value) != true, "the read waited behind the blocked reader")
        gate.signal()
        #expect(try await long.value == 42)
        await store.close()
    }

    @Test func atLeastOneReaderServes() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let store = try await EmbeddedTokenStore(
            directory: fixture.dataDirectory, readerCount: 0, logger: StoreFixture.logger)
        try await store.createSession(StoreFixture.session("s1"), refreshToken: nil)
        #expect(try await store.session(id: "s1")?.subject == "alice")
        await store.close()
    }
}
