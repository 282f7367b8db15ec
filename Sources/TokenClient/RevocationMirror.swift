import TokenCore
import TokenWire

/// The client's copy of the service's revocations, fed by `WatchRevocations` batches.
///
/// A snapshot is gathered aside and swapped in whole when the batch that completes it arrives, so
/// the mirror in use never goes through an empty state. `generation` moves whenever the set may
/// have gained an entry, so a cached verification knows when to check it again.
///
/// Seqs count within the log's epoch: a batch of another epoch than the mirror's is no
/// continuation of it (the stream must be resumed, and a snapshot follows). A snapshot of a new
/// epoch is added to what the mirror held rather than replacing it: a service whose store lost
/// revocations cannot make the mirror forget them.
struct RevocationMirror {
    /// What the stream should do after a batch.
    enum Disposition: Equatable {
        /// Go on reading.
        case applied
        /// The batch belongs to another epoch than the mirror or its pending snapshot: end the
        /// stream and resume (the service answers with a snapshot).
        case resume
    }

    private(set) var revocations = RevocationSet()
    /// Moves on every change that may revoke a token.
    private(set) var generation: UInt64 = 0
    /// The epoch of `appliedSeq` (0 before the first snapshot, and from services without epochs).
    private(set) var epoch: UInt64 = 0
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
    private var pendingSnapshotEpoch: UInt64 = 0

    /// Where to resume after a reconnect (seq 0 asks for a snapshot).
    var resumePoint: (epoch: UInt64, seq: UInt64) {
        isSynchronized ? (epoch, appliedSeq) : (epoch, 0)
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

    /// Applies one batch of the stream, unless it belongs to another epoch than the one it would
    /// continue.
    mutating func apply(_ batch: RevocationBatch, at now: ContinuousClock.Instant) -> Disposition {
        if batch.snapshot {
            if pendingSnapshot != nil, batch.epoch != pendingSnapshotEpoch {
                pendingSnapshot = nil
                return .resume
            }
            // A new epoch's snapshot adds to what the mirror holds; one of the same epoch replaces it.
            var snapshot = pendingSnapshot ?? (isSynchronized && batch.epoch != epoch ? revocations : RevocationSet())
            for event in batch.events {
                if let event = RevocationEvent(event) { snapshot.apply(event) }
            }
            pendingSnapshot = snapshot
            pendingSnapshotSeq = batch.headSeq
            pendingSnapshotEpoch = batch.epoch
            return .applied
        }
        if let snapshot = pendingSnapshot {
            guard batch.epoch == pendingSnapshotEpoch else {
                pendingSnapshot = nil
                return .resume
            }
            revocations = snapshot
            pendingSnapshot = nil
            epoch = pendingSnapshotEpoch
            appliedSeq = pendingSnapshotSeq
            snapshotsApplied += 1
            generation &+= 1
        } else if isSynchronized, batch.epoch != epoch {
            return .resume
        }
        epoch = batch.epoch
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
        return .applied
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
    /// The domain form of a wire revocation; nil for a kind this version does not know (it revokes
    /// nothing this version could check), a key revocation without a `kid`, and a key ring change
    /// (no revocation: the validator's key events handle it).
    init?(_ event: WireRevocationEvent) {
        let kind: Kind
        switch event.kind {
        case .token: kind = .token
        case .session: kind = .session
        case .subject: kind = .subject
        case .key where !event.value.isEmpty: kind = .signingKey
        case .key, .keyRing, .unspecified, .unrecognized: return nil
        }
        self.init(seq: event.seq, kind: kind, value: event.value, revokedAt: event.revokedAt, expiresAt: event.expiresAt)
    }
}
