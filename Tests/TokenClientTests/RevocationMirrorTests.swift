import Testing
import TokenCore
import TokenWire

@testable import TokenClient

/// The mirror's handling of the stream's batches, without a server.
@Suite struct RevocationMirrorTests {
    static let start = ContinuousClock.now

    static func event(_ seq: UInt64, _ kind: RevocationKind, _ value: String) -> WireRevocationEvent {
        WireRevocationEvent(seq: seq, kind: kind, value: value, revokedAt: 100, expiresAt: 10_000)
    }

    static func batch(
        _ events: [WireRevocationEvent], head: UInt64, snapshot: Bool, epoch: UInt64 = 0
    ) -> RevocationBatch {
        RevocationBatch(events: events, headSeq: head, snapshot: snapshot, epoch: epoch)
    }

    static func claims(tokenID: String = "t", sessionID: String = "s", subject: String = "u") -> Claims {
        Claims(
            issuer: "i", subject: subject, audience: [], scopes: [], tokenID: tokenID, sessionID: sessionID,
            issuedAt: 50, expiresAt: 5_000, notBefore: 50)
    }

    @Test func aSnapshotReplacesTheMirrorOnlyWhenComplete() {
        var mirror = RevocationMirror()
        #expect(!mirror.isFresh(at: Self.start, staleAfter: .seconds(5)))
        #expect(mirror.take(Self.batch([Self.event(1, .session, "old")], head: 1, snapshot: true)) == .applied)
        // Still gathering: nothing is in force and the mirror is not synchronized.
        #expect(!mirror.isRevoked(Self.claims(sessionID: "old")))
        #expect(mirror.resumePoint.seq == 0)
        #expect(mirror.take(Self.batch([], head: 1, snapshot: false)) == .applied)
        #expect(mirror.isRevoked(Self.claims(sessionID: "old")))
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.snapshotsApplied == 1)
        #expect(mirror.isFresh(at: Self.start + .seconds(5), staleAfter: .seconds(5)))
        #expect(!mirror.isFresh(at: Self.start + .seconds(6), staleAfter: .seconds(5)))

        // A second snapshot cut short leaves the mirror as it was.
        #expect(mirror.take(Self.batch([Self.event(7, .token, "other")], head: 7, snapshot: true)) == .applied)
        #expect(mirror.isRevoked(Self.claims(sessionID: "old")))
        mirror.streamEnded()
        #expect(mirror.take(Self.batch([Self.event(2, .subject, "u")], head: 2, snapshot: false)) == .applied)
        #expect(mirror.snapshotsApplied == 1)
        #expect(!mirror.isRevoked(Self.claims(tokenID: "other", sessionID: "", subject: "v")))
        #expect(mirror.isRevoked(Self.claims(sessionID: "", subject: "u")))
        #expect(mirror.appliedSeq == 2)
        #expect(mirror.resumePoint.seq == 2)
    }

    @Test func generationMovesOnlyWhenSomethingMayBeRevoked() {
        var mirror = RevocationMirror()
        #expect(mirror.take(Self.batch([], head: 0, snapshot: true)) == .applied)
        #expect(mirror.take(Self.batch([], head: 0, snapshot: false)) == .applied)
        let afterSnapshot = mirror.generation
        #expect(mirror.take(Self.batch([], head: 0, snapshot: false)) == .applied)
        #expect(mirror.generation == afterSnapshot)
        #expect(mirror.take(Self.batch([Self.event(1, .token, "t")], head: 1, snapshot: false)) == .applied)
        #expect(mirror.generation != afterSnapshot)
    }

    @Test func anUnknownKindRevokesNothingButItsSeqCounts() {
        var mirror = RevocationMirror()
        #expect(mirror.take(Self.batch([], head: 0, snapshot: true)) == .applied)
        #expect(mirror.take(Self.batch([Self.event(1, .unrecognized(9), "t")], head: 1, snapshot: false)) == .applied)
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.revocations.isEmpty)
    }

    @Test func theLagIsTheDistanceToTheHead() {
        var mirror = RevocationMirror()
        #expect(mirror.take(Self.batch([], head: 0, snapshot: true)) == .applied)
        #expect(mirror.take(Self.batch([Self.event(1, .token, "a")], head: 3, snapshot: false)) == .applied)
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.headSeq == 3)
        #expect(mirror.lastCurrentAt == nil)
        #expect(mirror.apply(
            Self.batch([Self.event(2, .token, "b"), Self.event(3, .token, "c")], head: 3, snapshot: false),
            at: Self.start + .seconds(1)) == .applied)
        #expect(mirror.lastCurrentAt == Self.start + .seconds(1))
    }

    @Test func aCompletedSnapshotGivesTheMirrorItsEpochAndTheResumePoint() {
        var mirror = RevocationMirror()
        #expect(mirror.take(Self.batch([Self.event(4, .token, "t")], head: 4, snapshot: true, epoch: 7)) == .applied)
        #expect(mirror.resumePoint == (0, 0))
        #expect(mirror.take(Self.batch([], head: 4, snapshot: false, epoch: 7)) == .applied)
        #expect(mirror.epoch == 7)
        #expect(mirror.resumePoint == (7, 4))
    }

    @Test func aBatchOfAnotherEpochIsNoContinuation() {
        var mirror = RevocationMirror()
        #expect(mirror.take(Self.batch([], head: 9, snapshot: true, epoch: 7)) == .applied)
        #expect(mirror.take(Self.batch([], head: 9, snapshot: false, epoch: 7)) == .applied)

        // Seq 10 of epoch 8 is not the event after seq 9 of epoch 7: the stream must resume.
        let foreign = Self.batch([Self.event(10, .token, "t")], head: 10, snapshot: false, epoch: 8)
        #expect(mirror.apply(foreign, at: Self.start + .seconds(1)) == .resume)
        #expect(!mirror.isRevoked(Self.claims(tokenID: "t")))
        #expect(mirror.resumePoint == (7, 9))
        #expect(mirror.lastBatchAt == Self.start)

        // A snapshot that changes epoch half way is dropped too.
        #expect(mirror.take(Self.batch([Self.event(3, .token, "a")], head: 3, snapshot: true, epoch: 8)) == .applied)
        #expect(mirror.take(Self.batch([], head: 3, snapshot: false, epoch: 9)) == .resume)
        #expect(mirror.resumePoint == (7, 9))
        #expect(!mirror.isRevoked(Self.claims(tokenID: "a")))
    }

    @Test func aSnapshotOfANewEpochKeepsWhatTheMirrorHeld() {
        var mirror = RevocationMirror()
        let lost = Self.batch([Self.event(5, .session, "lost")], head: 5, snapshot: true, epoch: 7)
        #expect(mirror.take(lost) == .applied)
        #expect(mirror.take(Self.batch([], head: 5, snapshot: false, epoch: 7)) == .applied)

        // The service's store lost "lost": the new epoch's snapshot does not have it.
        #expect(mirror.take(Self.batch([Self.event(5, .token, "new")], head: 5, snapshot: true, epoch: 8)) == .applied)
        #expect(mirror.take(Self.batch([], head: 5, snapshot: false, epoch: 8)) == .applied)
        #expect(mirror.epoch == 8)
        #expect(mirror.isRevoked(Self.claims(tokenID: "new")))
        #expect(mirror.isRevoked(Self.claims(sessionID: "lost")))

        // A snapshot of the same epoch replaces the mirror, as before.
        #expect(mirror.take(Self.batch([], head: 6, snapshot: true, epoch: 8)) == .applied)
        #expect(mirror.take(Self.batch([], head: 6, snapshot: false, epoch: 8)) == .applied)
        #expect(!mirror.isRevoked(Self.claims(sessionID: "lost")))
    }
}

extension RevocationMirror {
    /// Applies a batch arriving at the tests' start.
    fileprivate mutating func take(_ batch: RevocationBatch) -> Disposition {
        apply(batch, at: RevocationMirrorTests.start)
    }
}
