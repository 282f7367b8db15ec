import TokenCore
import TokenWire

/// The client's copy of the service's revocations, fed by `WatchRevocations` batches.
///
/// A snapshot is gathered aside and swapped in whole when the batch that completes it arrives, so
/// the mirror in use never goes through an empty state. `generation` moves whenever the set may
/// have gained an entry, so a cached verification knows when to check it again.
struct RevocationMirror {
    private(set) var revocations = RevocationSet()
    /// Moves on every change that may revoke a token.
    private(set) var generation: UInt64 = 0
    /// The highest seq applied.
    private(set) var appliedSeq: UInt64 = 0
    /// The newest seq the service reported.
    private(set) var headSeq: UInt64 = 0
    /// Whether a snapshot (or a resume) completed: before it the mirror knows nothing.
    private(set) var isSynchronized = false
    private(set) var snapshotsApplied: UInt64 = 0
    /// When the last live batch arrived.
    private(set) var lastBatchAt: ContinuousClock.Instant?
    /// When the mirror last held everything up to the service's head.
    private(set) var lastCurrentAt: ContinuousClock.Instant?
    /// A snapshot being received.
    private var pendingSnapshot: RevocationSet?
    private var pendingSnapshotSeq: UInt64 = 0

    /// The seq to resume from after a reconnect (0 asks for a snapshot).
    var resumeSeq: UInt64 {
        isSynchronized ? appliedSeq : 0
    }

    /// Whether a live batch arrived within `staleAfter` of `now`.
    func isFresh(at now: ContinuousClock.Instant, staleAfter: Duration) -> Bool {
        guard isSynchronized, let lastBatchAt else { return false }
        return now - lastBatchAt <= staleAfter
    }

    /// Whether the token with these claims is revoked.
    func isRevoked(_ claims: Claims) -> Bool {
        revocations.isRevoked(claims)
    }

    /// Applies one batch of the stream.
    mutating func apply(_ batch: RevocationBatch, at now: ContinuousClock.Instant) {
        if batch.snapshot {
            var snapshot = pendingSnapshot ?? RevocationSet()
            for event in batch.events {
                if let event = RevocationEvent(event) { snapshot.apply(event) }
            }
            pendingSnapshot = snapshot
            pendingSnapshotSeq = batch.headSeq
            return
        }
        if let snapshot = pendingSnapshot {
            revocations = snapshot
            pendingSnapshot = nil
            appliedSeq = pendingSnapshotSeq
            snapshotsApplied += 1
            generation &+= 1
        }
        isSynchronized = true
        if !batch.events.isEmpty {
            for event in batch.events {
                if let event = RevocationEvent(event) { revocations.apply(event) }
                appliedSeq = max(appliedSeq, event.seq)
            }
            generation &+= 1
        }
        headSeq = max(appliedSeq, batch.headSeq)
        lastBatchAt = now
        if appliedSeq >= headSeq {
            lastCurrentAt = now
        }
    }

    /// Forgets a snapshot cut short by a lost stream.
    mutating func streamEnded() {
        pendingSnapshot = nil
    }

    /// Drops revocations whose tokens have all expired.
    mutating func prune(now: Int64) {
        revocations.prune(now: now)
    }
}

extension RevocationEvent {
    /// The domain form of a wire event; nil for a kind this version does not know (it revokes nothing
    /// this version could check).
    init?(_ event: WireRevocationEvent) {
        let kind: Kind
        switch event.kind {
        case .token: kind = .token
        case .session: kind = .session
        case .subject: kind = .subject
        case .unspecified, .unrecognized: return nil
        }
        self.init(seq: event.seq, kind: kind, value: event.value, revokedAt: event.revokedAt, expiresAt: event.expiresAt)
    }
}
