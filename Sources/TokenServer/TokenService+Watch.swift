import TokenCore
import TokenRPC
import TokenStore
import TokenWire

extension TokenService {
    /// Events per batch; keeps a batch far below the frame limit even with 1 KiB values.
    static let watchBatchLimit = 48

    /// Streams a snapshot (or the events after `since_seq`), then live events and heartbeats.
    func watchRevocations(
        _ request: WatchRevocationsRequest,
        context: RPCContext,
        writer: RPCStreamWriter<RevocationBatch>
    ) async throws {
        // Subscribe first, so nothing stored while the backlog is read is missed.
        let subscription = revocations.subscribe()
        do {
            try await stream(subscription, since: request.sinceSeq, writer: writer)
        } catch {
            revocations.unsubscribe(subscription.id)
            throw error
        }
        if revocations.unsubscribe(subscription.id) {
            throw RPCError(code: .resourceExhausted, message: "watcher cannot keep up")
        }
        if !Task.isCancelled {
            throw RPCError(code: .unavailable, message: "server is shutting down")
        }
    }

    private func stream(
        _ subscription: RevocationHub.Subscription,
        since: UInt64,
        writer: RPCStreamWriter<RevocationBatch>
    ) async throws {
        var lastSent = try await sendBacklog(since: since, writer: writer)
        for await item in subscription.items {
            subscription.took(item)
            switch item {
            case .events(let events):
                let fresh = events.filter { $0.seq > lastSent }
                for chunk in fresh.chunked(into: Self.watchBatchLimit) {
                    lastSent = chunk.last?.seq ?? lastSent
                    try await writer.write(
                        RevocationBatch(events: chunk.map(WireRevocationEvent.init), headSeq: lastSent, snapshot: false)
                    )
                }
            case .heartbeat:
                try await writer.write(RevocationBatch(events: [], headSeq: lastSent, snapshot: false))
            }
        }
    }

    /// Sends what the watcher is missing: the events after `since` when the store still holds them
    /// all, else a snapshot followed by the batch that completes it.
    /// - Returns: the highest seq sent.
    private func sendBacklog(since: UInt64, writer: RPCStreamWriter<RevocationBatch>) async throws -> UInt64 {
        // A seq this server never reached (its state was reset) also gets a snapshot.
        if since > 0, since <= revocations.publishedSeq {
            let first = try await eventsAfter(since)
            if first.isComplete {
                return try await sendEvents(startingWith: first.events, after: since, writer: writer)
            }
        }
        try await snapshotPermits.acquire(deadline: nil)
        defer { snapshotPermits.release() }
        let snapshot = try await storeCall { try await store.activeRevocations(now: clock.now()) }
        let chunks = snapshot.events.chunked(into: Self.watchBatchLimit)
        for chunk in chunks.isEmpty ? [[]] : chunks {
            try await writer.write(RevocationBatch(events: chunk.map(WireRevocationEvent.init), headSeq: snapshot.headSeq, snapshot: true))
        }
        try await writer.write(RevocationBatch(events: [], headSeq: snapshot.headSeq, snapshot: false))
        return snapshot.headSeq
    }

    /// Sends the events after `since`, one page of the log at a time (the first already read), so
    /// that a long backlog is never held in memory whole.
    /// - Returns: the highest seq sent.
    private func sendEvents(
        startingWith firstPage: [RevocationEvent],
        after since: UInt64,
        writer: RPCStreamWriter<RevocationBatch>
    ) async throws -> UInt64 {
        var page = firstPage
        var lastSent = since
        while true {
            for chunk in page.chunked(into: Self.watchBatchLimit) {
                lastSent = chunk.last?.seq ?? lastSent
                try await writer.write(RevocationBatch(events: chunk.map(WireRevocationEvent.init), headSeq: lastSent, snapshot: false))
            }
            guard page.count == RevocationHub.eventsPerRead else { break }
            // Events purged since the first page had expired: the watcher loses nothing without them.
            page = try await eventsAfter(lastSent).events
        }
        if lastSent == since {
            try await writer.write(RevocationBatch(events: [], headSeq: lastSent, snapshot: false))
        }
        return lastSent
    }

    /// One page of the stored events after `seq`.
    private func eventsAfter(_ seq: UInt64) async throws -> RevocationEventPage {
        try await storeCall { try await store.revocationEvents(after: seq, limit: RevocationHub.eventsPerRead) }
    }
}

extension WireRevocationEvent {
    /// The wire form of a stored event.
    init(_ event: RevocationEvent) {
        let kind: RevocationKind =
            switch event.kind {
            case .token: .token
            case .session: .session
            case .subject: .subject
            }
        self.init(seq: event.seq, kind: kind, value: event.value, revokedAt: event.revokedAt, expiresAt: event.expiresAt)
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements (sharing the array's storage).
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
