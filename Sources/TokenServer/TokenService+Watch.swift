import TokenCore
import TokenRPC
import TokenServerCore
import TokenStore
import TokenWire

extension TokenService {
    /// The most bytes of events one batch carries, so that its frame stays below 64 KiB.
    static let watchBatchBytes = 48 * 1_024

    /// Streams a snapshot (or the events after `since_seq` of the same epoch), then live events and
    /// heartbeats. The backlog is read from the store's log a page at a time, as the client takes
    /// it: a slow client slows its own stream, and no stream holds more than a page.
    func watchRevocations(
        _ request: WatchRevocationsRequest,
        context: RPCContext,
        writer: RPCStreamWriter<RevocationBatch>
    ) async throws {
        guard let position = revocations.position, revocations.isCurrent() else {
            throw RPCError(code: .unavailable, message: "the revocation state is not current here; retry")
        }
        let epoch = position.epoch
        var stream = RevocationStream(epoch: epoch, writer: writer)
        // A seq of another epoch (or 0, from a client that predates epochs), or one this server never
        // reached, is no position in this log: the client gets a snapshot.
        var resumed = false
        if request.sinceSeq > 0, request.epoch == epoch, request.sinceSeq <= position.publishedSeq {
            stream.lastSent = request.sinceSeq
            resumed = try await sendLog(&stream, snapshot: false)
        }
        if !resumed {
            stream.lastSent = 0
            _ = try await sendLog(&stream, snapshot: true)
            // A snapshot has at least one batch: its first one tells the client to start gathering.
            if stream.snapshotBatches == 0 {
                try await stream.send(batch: [], snapshot: true)
            }
        }
        // Completes the snapshot, or tells a resumed client it is current.
        try await stream.sendCurrent(certified: revocations.isCurrent())

        let subscription = revocations.subscribe()
        do {
            guard subscription.epoch == epoch else { throw Self.epochChanged }
            // What was stored since the last page and published before the subscription.
            _ = try await sendLog(&stream, snapshot: false)
            // Live, the stream runs on its connection's event loop: what the hub hands to every
            // watcher is queued there without a hop to another thread and back per watcher. (The
            // backlog above runs elsewhere, so that it cannot keep the loop's other connections
            // waiting; a live stream has only what the hub handed it.)
            try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: context.eventLoop)) {
                for await item in subscription.items {
                    subscription.took(item)
                    switch item {
                    case .events(let events):
                        try await stream.send(events.filter { $0.seq > stream.lastSent }, snapshot: false)
                    case .heartbeat:
                        try await stream.sendCurrent(certified: true)
                    }
                }
            }
        } catch {
            revocations.unsubscribe(subscription.id)
            throw error
        }
        switch revocations.unsubscribe(subscription.id) {
        case .overflowed?:
            throw RPCError(code: .resourceExhausted, message: "watcher cannot keep up")
        case .epochChanged?:
            throw Self.epochChanged
        case nil:
            if !Task.isCancelled {
                throw RPCError(code: .unavailable, message: "server is shutting down")
            }
        }
    }

    /// Sends the log's events after `stream.lastSent`, a page at a time as the writer takes them,
    /// up to the end of the log. A snapshot leaves out events that expired.
    /// - Returns: false when a resume's first page shows events purged after its seq (it needs a
    ///   snapshot then), else true.
    private func sendLog(_ stream: inout RevocationStream, snapshot: Bool) async throws -> Bool {
        let now = clock.now()
        var first = true
        while true {
            guard revocations.position?.epoch == stream.epoch else { throw Self.epochChanged }
            let after = stream.lastSent
            let page = try await storeCall {
                try await store.revocationEvents(after: after, limit: RevocationHub.eventsPerRead)
            }
            guard page.epoch == stream.epoch else { throw Self.epochChanged }
            if first, !snapshot, !page.isComplete {
                return false
            }
            first = false
            if snapshot {
                try await stream.send(page.events.filter { $0.expiresAt >= now }, snapshot: true)
            } else {
                try await stream.send(page.events, snapshot: false)
            }
            // The client's position: past the last event sent, expired ones included.
            stream.lastSent = max(stream.lastSent, page.events.last?.seq ?? 0)
            if page.events.count < RevocationHub.eventsPerRead {
                return true
            }
        }
    }

    /// The end of a stream whose events counted in an epoch the log has left.
    static var epochChanged: RPCError {
        RPCError(code: .unavailable, message: "the revocation log started a new epoch; resume for a snapshot")
    }
}

/// One WatchRevocations stream: the epoch it counts in, the highest seq it sent, and its writer.
private struct RevocationStream {
    let epoch: UInt64
    let writer: RPCStreamWriter<RevocationBatch>
    var lastSent: UInt64 = 0
    /// The snapshot batches sent.
    private(set) var snapshotBatches = 0

    init(epoch: UInt64, writer: RPCStreamWriter<RevocationBatch>) {
        self.epoch = epoch
        self.writer = writer
    }

    /// Sends `events` in batches of at most `watchBatchBytes` of values, each as the writer takes it.
    mutating func send(_ events: [RevocationEvent], snapshot: Bool) async throws {
        var batch: [WireRevocationEvent] = []
        var bytes = 0
        for event in events {
            // The fixed fields take at most 32 bytes on the wire.
            let size = event.value.utf8.count + 32
            if !batch.isEmpty, bytes + size > TokenService.watchBatchBytes {
                try await flush(&batch, snapshot: snapshot)
                bytes = 0
            }
            batch.append(WireRevocationEvent(event))
            bytes += size
        }
        try await flush(&batch, snapshot: snapshot)
    }

    private mutating func flush(_ batch: inout [WireRevocationEvent], snapshot: Bool) async throws {
        guard let last = batch.last else { return }
        lastSent = max(lastSent, last.seq)
        try await send(batch: batch, snapshot: snapshot)
        batch.removeAll(keepingCapacity: true)
    }

    /// Sends one batch, its head being `lastSent`.
    mutating func send(batch: [WireRevocationEvent], snapshot: Bool) async throws {
        if snapshot {
            snapshotBatches += 1
        }
        try await writer.write(RevocationBatch(events: batch, headSeq: lastSent, snapshot: snapshot, epoch: epoch))
    }

    /// Sends a batch without events: the client holds everything up to `lastSent` (a snapshot is
    /// complete; a heartbeat). Only while the server can vouch for it.
    /// - Parameter certified: whether the server follows its store now.
    func sendCurrent(certified: Bool) async throws {
        guard certified else {
            throw RPCError(code: .unavailable, message: "the revocation state is not current here; retry")
        }
        try await writer.write(RevocationBatch(events: [], headSeq: lastSent, snapshot: false, epoch: epoch))
    }
}
