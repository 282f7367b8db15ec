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

    static func claims(tokenID: String = "t", sessionID: String = "s", subject: String = "u") -> Claims {
        Claims(
            issuer: "i", subject: subject, audience: [], scopes: [], tokenID: tokenID, sessionID: sessionID,
            issuedAt: 50, expiresAt: 5_000, notBefore: 50)
    }

    @Test func aSnapshotReplacesTheMirrorOnlyWhenComplete() {
        var mirror = RevocationMirror()
        #expect(!mirror.isFresh(at: Self.start, staleAfter: .seconds(5)))
        mirror.apply(RevocationBatch(events: [Self.event(1, .session, "old")], headSeq: 1, snapshot: true), at: Self.start)
        // Still gathering: nothing is in force and the mirror is not synchronized.
        #expect(!mirror.isRevoked(Self.claims(sessionID: "old")))
        #expect(mirror.resumeSeq == 0)
        mirror.apply(RevocationBatch(events: [], headSeq: 1, snapshot: false), at: Self.start)
        #expect(mirror.isRevoked(Self.claims(sessionID: "old")))
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.snapshotsApplied == 1)
        #expect(mirror.isFresh(at: Self.start + .seconds(5), staleAfter: .seconds(5)))
        #expect(!mirror.isFresh(at: Self.start + .seconds(6), staleAfter: .seconds(5)))

        // A second snapshot cut short leaves the mirror as it was.
        mirror.apply(RevocationBatch(events: [Self.event(7, .token, "other")], headSeq: 7, snapshot: true), at: Self.start)
        #expect(mirror.isRevoked(Self.claims(sessionID: "old")))
        mirror.streamEnded()
        mirror.apply(RevocationBatch(events: [Self.event(2, .subject, "u")], headSeq: 2, snapshot: false), at: Self.start)
        #expect(mirror.snapshotsApplied == 1)
        #expect(!mirror.isRevoked(Self.claims(tokenID: "other", sessionID: "", subject: "v")))
        #expect(mirror.isRevoked(Self.claims(sessionID: "", subject: "u")))
        #expect(mirror.appliedSeq == 2)
        #expect(mirror.resumeSeq == 2)
    }

    @Test func generationMovesOnlyWhenSomethingMayBeRevoked() {
        var mirror = RevocationMirror()
        mirror.apply(RevocationBatch(events: [], headSeq: 0, snapshot: true), at: Self.start)
        mirror.apply(RevocationBatch(events: [], headSeq: 0, snapshot: false), at: Self.start)
        let afterSnapshot = mirror.generation
        mirror.apply(RevocationBatch(events: [], headSeq: 0, snapshot: false), at: Self.start)
        #expect(mirror.generation == afterSnapshot)
        mirror.apply(RevocationBatch(events: [Self.event(1, .token, "t")], headSeq: 1, snapshot: false), at: Self.start)
        #expect(mirror.generation != afterSnapshot)
    }

    @Test func anUnknownKindRevokesNothingButItsSeqCounts() {
        var mirror = RevocationMirror()
        mirror.apply(RevocationBatch(events: [], headSeq: 0, snapshot: true), at: Self.start)
        mirror.apply(
            RevocationBatch(events: [Self.event(1, .unrecognized(9), "t")], headSeq: 1, snapshot: false), at: Self.start)
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.revocations.isEmpty)
    }

    @Test func theLagIsTheDistanceToTheHead() {
        var mirror = RevocationMirror()
        mirror.apply(RevocationBatch(events: [], headSeq: 0, snapshot: true), at: Self.start)
        mirror.apply(RevocationBatch(events: [Self.event(1, .token, "a")], headSeq: 3, snapshot: false), at: Self.start)
        #expect(mirror.appliedSeq == 1)
        #expect(mirror.headSeq == 3)
        #expect(mirror.lastCurrentAt == nil)
        mirror.apply(
            RevocationBatch(events: [Self.event(2, .token, "b"), Self.event(3, .token, "c")], headSeq: 3, snapshot: false),
            at: Self.start + .seconds(1))
        #expect(mirror.lastCurrentAt == Self.start + .seconds(1))
    }
}
