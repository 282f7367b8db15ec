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

    /// Sends what the watcher is missing: the events after `since` when the store still holds them,
    /// else a snapshot followed by the batch that completes it.
    /// - Returns: the highest seq sent.
    private func sendBacklog(since: UInt64, writer: RPCStreamWriter<RevocationBatch>) async throws -> UInt64 {
        // A seq this server never reached (its state was reset) also gets a snapshot.
        if since > 0, since <= revocations.publishedSeq, let events = try await eventsAfter(since) {
            var lastSent = since
            for chunk in events.chunked(into: Self.watchBatchLimit) {
                lastSent = chunk.last?.seq ?? lastSent
                try await writer.write(RevocationBatch(events: chunk.map(WireRevocationEvent.init), headSeq: lastSent, snapshot: false))
            }
            if events.isEmpty {
                try await writer.write(RevocationBatch(events: [], headSeq: lastSent, snapshot: false))
            }
            return lastSent
        }
        let snapshot = try await storeCall { try await store.activeRevocations(now: clock.now()) }
        let chunks = snapshot.events.chunked(into: Self.watchBatchLimit)
        for chunk in chunks.isEmpty ? [[]] : chunks {
            try await writer.write(RevocationBatch(events: chunk.map(WireRevocationEvent.init), headSeq: snapshot.headSeq, snapshot: true))
        }
        try await writer.write(RevocationBatch(events: [], headSeq: snapshot.headSeq, snapshot: false))
        return snapshot.headSeq
    }

    /// Every stored event after `seq`, or nil when the store no longer holds them all.
    private func eventsAfter(_ seq: UInt64) async throws -> [RevocationEvent]? {
        var collected: [RevocationEvent] = []
        var after = seq
        while true {
            guard let page = try await storeCall({ try await store.revocationEvents(after: after, limit: 1_000) }) else {
                return nil
            }
            collected += page
            guard let last = page.last, page.count == 1_000 else { return collected }
            after = last.seq
        }
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
    /// Consecutive slices of at most `size` elements.
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
