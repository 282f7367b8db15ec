import Testing
import TokenClient
import TokenRPC
import TokenWire

@testable import TokenServer

@Suite struct WatchRevocationsTests {
    @Test func snapshotThenLiveEventsThenResume() async throws {
        try await TestServer.with(configure: { $0.heartbeatInterval = .milliseconds(50) }) { server in
            let gateway = server.client("gateway")
            let login = try await server.client("issuer").login("alice")
            let early = try await gateway.revoke(RevokeRequest(target: .tokenID(login.tokenID)))

            var batches = server.client("validator").watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
            let snapshot = try #require(try await batches.next())
            #expect(snapshot.snapshot)
            #expect(snapshot.headSeq == early.seq)
            #expect(snapshot.events.map(\.value) == [login.tokenID])
            #expect(snapshot.events.first?.kind == .token)
            let complete = try #require(try await batches.next())
            #expect(!complete.snapshot)

            let live = try await gateway.revoke(RevokeRequest(target: .sessionID(login.sessionID)))
            var received: WireRevocationEvent?
            while received == nil, let batch = try await batches.next() {
                #expect(!batch.snapshot)
                received = batch.events.first
            }
            #expect(received?.seq == live.seq)
            #expect(received?.kind == .session)
            #expect(received?.value == login.sessionID)

            // Resuming after the first event gets only what came later, without a snapshot.
            var resumed = server.client("validator").watchRevocations(WatchRevocationsRequest(sinceSeq: early.seq)).makeAsyncIterator()
            let catchUp = try #require(try await resumed.next())
            #expect(!catchUp.snapshot)
            #expect(catchUp.events.map(\.seq) == [live.seq])
        }
    }

    @Test func aResumeAcrossSeveralPagesOfTheLogGetsEveryEventOnceInOrder() async throws {
        try await TestServer.with { server in
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

            var batches = server.client("validator").watchRevocations(WatchRevocationsRequest(sinceSeq: since)).makeAsyncIterator()
            // The backlog comes first, whole; the first batch without events is a heartbeat.
            var received: [UInt64] = []
            while let batch = try await batches.next(), !batch.events.isEmpty {
                #expect(!batch.snapshot)
                #expect(batch.events.count <= TokenService.watchBatchLimit)
                #expect(batch.headSeq == batch.events.last?.seq ?? batch.headSeq)
                received += batch.events.map(\.seq)
            }
            #expect(received.count == count - 1)
            #expect(received.elementsEqual(seqs.dropFirst()))
        }
    }

    @Test func snapshotsBeyondTheLimitWaitTheirTurn() async throws {
        try await TestServer.with(configure: { $0.concurrentSnapshots = 1 }, hooked: true) { server in
            let hooks = try #require(server.hooks)
            let validator = server.client("validator")
            // The service read one snapshot when it started, to load the revocations in force.
            let startup = hooks.snapshotReads.load(ordering: .relaxed)
            var started = hooks.snapshotsStarted.makeAsyncIterator()
            for _ in 0..<startup {
                _ = await started.next()
            }
            hooks.holdSnapshots()
            var first = validator.watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
            let firstBatch = Task { try await first.next() }
            #expect(await started.next() != nil)

            // The one snapshot is taken: a second watcher waits without reading the store, until its
            // deadline passes.
            var late = validator.rpc.serverStreaming(
                TokenServiceMethod.watchRevocations, WatchRevocationsRequest(sinceSeq: 0), as: RevocationBatch.self,
                timeout: .milliseconds(50)
            ).makeAsyncIterator()
            await #expect(throws: RPCError.deadlineExceeded()) {
                _ = try await late.next()
            }
            #expect(hooks.snapshotReads.load(ordering: .relaxed) == startup + 1)

            hooks.releaseSnapshots()
            #expect(try await firstBatch.value?.snapshot == true)
            // The first snapshot gave its turn back.
            var next = validator.watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
            #expect(try await next.next()?.snapshot == true)
        }
    }

    @Test func heartbeatsArriveWhenNothingHappens() async throws {
        try await TestServer.with(configure: { $0.heartbeatInterval = .milliseconds(20) }) { server in
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
        try await TestServer.with { server in
            var batches = server.client("issuer").watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
            let error = await #expect(throws: RPCError.self) {
                _ = try await batches.next()
            }
            #expect(error?.code == .permissionDenied)
        }
    }
}
