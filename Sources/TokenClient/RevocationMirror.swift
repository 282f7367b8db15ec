import Synchronization
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
///
/// The struct lives under the validator's lock and is changed by one task at a time; what verifying
/// tasks read (the set, the generation, when the last batch came) is in `published`, which they
/// reach without that lock.
struct RevocationMirror {
    /// What the stream should do after a batch.
    enum Disposition: Equatable {
        /// Go on reading.
        case applied
        /// The batch belongs to another epoch than the mirror or its pending snapshot: end the
        /// stream and resume (the service answers with a snapshot).
        case resume
    }

    /// What verifying tasks read without the validator's lock.
    let published = PublishedMirror()
    /// Moves on every change that may revoke a token.
    var generation: UInt64 {
        published.generation
    }
    /// The revocations in force.
    var revocations: SharedRevocationSet {
        published.revocations
    }
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
    private var pendingSnapshot: SharedRevocationSet.Contents?
    private var pendingSnapshotSeq: UInt64 = 0
    private var pendingSnapshotEpoch: UInt64 = 0
    /// What the last snapshot replaced, for the caller to release outside the lock.
    private var replacedContents: SharedRevocationSet.Contents?

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
            // Taken out while it grows: a second reference would copy what it holds on every batch.
            var snapshot = pendingSnapshot.take() ?? SharedRevocationSet.Contents()
            for event in batch.events {
                if let event = RevocationEvent(event) { snapshot.apply(event) }
            }
            pendingSnapshot = snapshot
            pendingSnapshotSeq = batch.headSeq
            pendingSnapshotEpoch = batch.epoch
            return .applied
        }
        if var snapshot = pendingSnapshot {
            pendingSnapshot = nil
            guard batch.epoch == pendingSnapshotEpoch else {
                return .resume
            }
            if isSynchronized, pendingSnapshotEpoch != epoch {
                // A new epoch's snapshot adds to what the mirror holds; one of the same epoch replaces it.
                revocations.formUnion(with: snapshot)
            } else {
                revocations.exchangeContents(with: &snapshot)
                replacedContents = snapshot
            }
            epoch = pendingSnapshotEpoch
            appliedSeq = pendingSnapshotSeq
            snapshotsApplied += 1
            published.advanceGeneration()
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
            published.advanceGeneration()
        }
        headSeq = max(appliedSeq, batch.headSeq)
        lastBatchAt = now
        published.markBatch(at: now)
        if appliedSeq >= headSeq {
            lastCurrentAt = now
        }
        return .applied
    }

    /// Forgets a snapshot cut short by a lost stream.
    mutating func streamEnded() {
        pendingSnapshot = nil
    }

    /// Takes what the last snapshot replaced, so that the caller releases it after leaving the lock.
    mutating func takeReplacedContents() -> SharedRevocationSet.Contents? {
        defer { replacedContents = nil }
        return replacedContents
    }
}

/// The part of a `RevocationMirror` that verifying tasks read without the validator's lock: the
/// revocations (sharded, see `SharedRevocationSet`), the generation, and when the last live batch
/// of a synchronized mirror arrived.
final class PublishedMirror: Sendable {
    let revocations = SharedRevocationSet()
    private let generationWord = Atomic<UInt64>(0)
    /// Nanoseconds from `origin` to the last live batch; `Int64.min` before the first.
    private let lastBatchWord = Atomic<Int64>(.min)
    private static let origin = ContinuousClock.now

    /// Moves on every change that may revoke a token. Read before the set: a check made after
    /// reading generation G saw every revocation that G stands for.
    var generation: UInt64 {
        generationWord.load(ordering: .acquiring)
    }

    /// Marks a change of the set; call after the change.
    func advanceGeneration() {
        generationWord.wrappingAdd(1, ordering: .releasing)
    }

    /// Records a live batch of a synchronized mirror.
    func markBatch(at instant: ContinuousClock.Instant) {
        lastBatchWord.store(Self.nanoseconds(instant - Self.origin), ordering: .releasing)
    }

    /// Whether a live batch arrived within `staleAfter` (in nanoseconds) of `now`.
    func isFresh(at now: ContinuousClock.Instant, staleAfterNanoseconds: Int64) -> Bool {
        let last = lastBatchWord.load(ordering: .acquiring)
        guard last != .min else { return false }
        return Self.nanoseconds(now - Self.origin) - last <= staleAfterNanoseconds
    }

    /// A duration in whole nanoseconds (saturating).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min + 1 : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
