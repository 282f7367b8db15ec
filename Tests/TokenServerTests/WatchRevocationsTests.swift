import Logging
import NIOPosix
import Synchronization
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenStore
import TokenWire

@testable import TokenServer

@Suite struct WatchRevocationsTests {
    @Test func snapshotThenLiveEventsThenResume() async throws {
        try await TokenTestServer.with(configure: { $0.heartbeatInterval = .milliseconds(50) }) { server in
            let gateway = server.client("gateway")
            let login = try await server.client("issuer").login("alice")
            let early = try await gateway.revoke(RevokeRequest(target: .tokenID(login.tokenID)))

            var batches = server.client("validator").watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
            let snapshot = try #require(try await batches.next())
            #expect(snapshot.snapshot)
            #expect(snapshot.headSeq == early.seq)
            // The key ring's event, then the revocation.
            #expect(snapshot.events.map(\.kind) == [.keyRing, .token])
            #expect(snapshot.events.last?.value == login.tokenID)
            let epoch = snapshot.epoch
            #expect(epoch != 0)
            let complete = try #require(try await batches.next())
            #expect(!complete.snapshot)
            #expect(complete.headSeq == early.seq)
            #expect(complete.epoch == epoch)

            let live = try await gateway.revoke(RevokeRequest(target: .sessionID(login.sessionID)))
            var received: WireRevocationEvent?
            while received == nil, let batch = try await batches.next() {
                #expect(!batch.snapshot)
                #expect(batch.epoch == epoch)
                received = batch.events.first
            }
            #expect(received?.seq == live.seq)
            #expect(received?.kind == .session)
            #expect(received?.value == login.sessionID)

            // Resuming after the first event of the same epoch gets only what came later.
            var resumed = server.client("validator").watchRevocations(
                WatchRevocationsRequest(sinceSeq: early.seq, epoch: epoch)
            ).makeAsyncIterator()
            let catchUp = try #require(try await resumed.next())
            #expect(!catchUp.snapshot)
            #expect(catchUp.events.map(\.seq) == [live.seq])
        }
    }

    @Test(arguments: [UInt64(0), 1])
    func aResumeFromAnotherEpochGetsASnapshot(epochOffset: UInt64) async throws {
        try await TokenTestServer.with { server in
            let gateway = server.client("gateway")
            let first = try await gateway.revoke(RevokeRequest(target: .tokenID("first")))
            let second = try await gateway.revoke(RevokeRequest(target: .tokenID("second")))
            let epoch = try #require(server.service.revocations.position?.epoch)
            // Offset 0: no epoch at all, as from a client that predates epochs; else another epoch.
            let other = epochOffset == 0 ? 0 : epoch &+ epochOffset

            var batches = server.client("validator").watchRevocations(
                WatchRevocationsRequest(sinceSeq: first.seq, epoch: other)
            ).makeAsyncIterator()
            var snapshot: [WireRevocationEvent] = []
            var batch = try #require(try await batches.next())
            while batch.snapshot {
                #expect(batch.epoch == epoch)
                snapshot += batch.events
                batch = try #require(try await batches.next())
            }
            // The first event, which a continuation after its seq would leave out, is there, after the
            // key ring's event.
            #expect(snapshot.map(\.kind) == [.keyRing, .token, .token])
            #expect(snapshot.map(\.value).suffix(2) == ["first", "second"])
            #expect(batch.headSeq == second.seq)
            #expect(batch.epoch == epoch)
        }
    }

    @Test func aResumeAcrossSeveralPagesOfTheLogGetsEveryEventOnceInOrder() async throws {
        try await TokenTestServer.with { server in
            let gateway = server.client("gateway")
            // More events than one read of the log holds, revoked 50 at a time.
            let count = RevocationHub.eventsPerRead * 2 + 100
            var seqs: [UInt64] = []
            for start in stride(from: 0, to: count, by: 50) {
                seqs += try await withThrowingTaskGroup(of: UInt64.self) { group in
                    for index in start..<min(start + 50, count) {
                        group.addTask { try await gateway.revoke(RevokeRequest(target: .tokenID("jti-\(index)"))).seq }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            seqs.sort()
            let since = seqs[0]
            let epoch = try #require(server.service.revocations.position?.epoch)

            var batches = server.client("validator").watchRevocations(
                WatchRevocationsRequest(sinceSeq: since, epoch: epoch)
            ).makeAsyncIterator()
            // The backlog comes first, whole; the first batch without events says it is complete.
            var received: [UInt64] = []
            while let batch = try await batches.next(), !batch.events.isEmpty {
                #expect(!batch.snapshot)
                let bytes = batch.events.reduce(0) { $0 + $1.value.utf8.count + 32 }
                #expect(bytes <= TokenService.watchBatchBytes)
                #expect(batch.headSeq == batch.events.last?.seq ?? batch.headSeq)
                received += batch.events.map(\.seq)
            }
            #expect(received.count == count - 1)
            #expect(received.elementsEqual(seqs.dropFirst()))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aSlowWatcherGetsTheWholeSnapshotReadFromTheStoreAsItTakesIt() async throws {
        try await TokenTestServer.with(hooked: true) { server in
            let hooks = try #require(server.hooks)
            let store = server.store
            let count = 5_000
            for start in stride(from: 0, to: count, by: 250) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in start..<start + 250 {
                        group.addTask {
                            let request = RevocationRequest(
                                kind: .token, value: "jti-\(index)", revokedAt: server.clock.now(),
                                expiresAt: server.clock.now() + 600, reason: "test")
                            _ = try await store.revoke(request)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            await server.service.revocations.publishNewEvents()

            // A reader taking 256 KiB a second; at each batch, the events read from the store and
            // not yet written stay within a page.
            let written = Atomic<Int>(0)
            let base = hooks.eventsRead.load(ordering: .relaxed)
            let largestBacklog = Atomic<Int>(0)
            let completed = Atomic<Bool>(false)
            let reader = RPCStreamWriter<RevocationBatch>(send: { bytes throws(RPCError) in
                let batch: RevocationBatch
                do {
                    batch = try RevocationBatch(serializedBytes: bytes)
                } catch {
                    throw .internalError()
                }
                let backlog = hooks.eventsRead.load(ordering: .relaxed) - base - written.load(ordering: .relaxed)
                largestBacklog.store(max(largestBacklog.load(ordering: .relaxed), backlog), ordering: .relaxed)
                written.add(batch.events.count, ordering: .relaxed)
                if !batch.snapshot {
                    completed.store(true, ordering: .relaxed)
                    throw .cancelled("the snapshot is complete")
                }
                try? await Task.sleep(for: .microseconds(bytes.count * 1_000_000 / (256 * 1_024)))
            })
            let started = ContinuousClock.now
            await #expect(throws: RPCError.cancelled("the snapshot is complete")) {
                let context = RPCContext(
                    callID: 1, method: TokenServiceMethod.watchRevocations, caller: nil, deadline: nil,
                    logger: Logger(label: "test"), eventLoop: MultiThreadedEventLoopGroup.singleton.next())
                try await server.service.watchRevocations(WatchRevocationsRequest(), context: context, writer: reader)
            }
            print("a \(count)-revocation snapshot at 256 KiB/s took \(ContinuousClock.now - started)")
            let (wasCompleted, sent, backlog) = (
                completed.load(ordering: .relaxed), written.load(ordering: .relaxed),
                largestBacklog.load(ordering: .relaxed)
            )
            #expect(wasCompleted)
            #expect(sent == count + 1, "the revocations and the key ring's event")
            #expect(backlog <= RevocationHub.eventsPerRead, "the stream held \(backlog) events read and not yet sent")
        }
    }

    @Test func heartbeatsArriveWhenNothingHappens() async throws {
        try await TokenTestServer.with(configure: { $0.heartbeatInterval = .milliseconds(20) }) { server in
            var batches = server.client("validator").watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
            var heartbeats = 0
            while heartbeats < 3, let batch = try await batches.next() {
                if !batch.snapshot, batch.events.isEmpty {
                    heartbeats += 1
                }
            }
            #expect(heartbeats == 3)
        }
    }

    @Test func watchingNeedsTheValidateRole() async throws {
        try await TokenTestServer.with { server in
            var batches = server.client("issuer").watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
            let error = await #expect(throws: RPCError.self) {
                _ = try await batches.next()
            }
            #expect(error?.code == .permissionDenied)
        }
    }
}
