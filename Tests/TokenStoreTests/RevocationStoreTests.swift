import Testing
import TokenCore
import TokenStore

@Suite("Stores: revocations")
struct RevocationStoreTests {
    @Test(arguments: StoreKind.all)
    func revokingSessionsAndSubjectsMarksAndCountsLiveSessions(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        try await store.createSession(StoreFixture.session("s1"), refreshToken: nil)
        try await store.createSession(StoreFixture.session("s2"), refreshToken: nil)
        try await store.createSession(StoreFixture.session("s3", expiresAt: 2_000), refreshToken: nil)
        try await store.createSession(StoreFixture.session("s4", revokedAt: 1_200), refreshToken: nil)
        try await store.createSession(StoreFixture.session("s5", subject: "bob"), refreshToken: nil)

        let bySession = try await store.revoke(
            RevocationRequest(kind: .session, value: "s1", revokedAt: 3_000, expiresAt: 9_000, reason: "logout"))
        #expect(
            bySession.event == RevocationEvent(seq: 1, kind: .session, value: "s1", revokedAt: 3_000, expiresAt: 9_000))
        #expect(bySession.sessionsRevoked == 1)
        #expect(try await store.session(id: "s1")?.revokedAt == 3_000)

        let again = try await store.revoke(
            RevocationRequest(kind: .session, value: "s1", revokedAt: 3_100, expiresAt: 9_000, reason: "again"))
        #expect(again.event.seq == 2)
        #expect(again.sessionsRevoked == 0)
        #expect(try await store.session(id: "s1")?.revokedAt == 3_000)

        let bySubject = try await store.revoke(
            RevocationRequest(kind: .subject, value: "alice", revokedAt: 3_200, expiresAt: 9_000, reason: "breach"))
        #expect(bySubject.event.seq == 3)
        #expect(bySubject.sessionsRevoked == 1)
        #expect(try await store.session(id: "s2")?.revokedAt == 3_200)
        #expect(try await store.session(id: "s3")?.revokedAt == 3_200)
        #expect(try await store.session(id: "s4")?.revokedAt == 1_200)
        #expect(try await store.session(id: "s5")?.revokedAt == nil)
        #expect(try await store.liveSessions(subject: "alice", now: 0, limit: 100).isEmpty)

        let byToken = try await store.revoke(
            RevocationRequest(kind: .token, value: "jti-1", revokedAt: 3_300, expiresAt: 4_000, reason: ""))
        #expect(byToken.event.seq == 4)
        #expect(byToken.sessionsRevoked == 0)
        #expect(try await store.liveSessions(subject: "bob", now: 0, limit: 100).count == 1)
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func eventsArePagedInOrderAndTheSnapshotKeepsTheLatestPerTarget(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        #expect(try await store.activeRevocations(now: 0) == RevocationSnapshot(events: [], headSeq: 0))
        #expect(try await store.revocationEvents(after: 0, limit: 10) == RevocationEventPage(events: [], isComplete: true))
        let requests = [
            RevocationRequest(kind: .token, value: "a", revokedAt: 10, expiresAt: 100, reason: ""),
            RevocationRequest(kind: .session, value: "s", revokedAt: 20, expiresAt: 200, reason: ""),
            RevocationRequest(kind: .token, value: "a", revokedAt: 30, expiresAt: 300, reason: ""),
            RevocationRequest(kind: .subject, value: "u", revokedAt: 40, expiresAt: 50, reason: ""),
            RevocationRequest(kind: .subject, value: "a", revokedAt: 45, expiresAt: 400, reason: ""),
        ]
        var events: [RevocationEvent] = []
        for request in requests {
            events.append(try await store.revoke(request).event)
        }
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5])

        #expect(try await store.revocationEvents(after: 0, limit: 2) == RevocationEventPage(events: Array(events[0..<2]), isComplete: true))
        #expect(try await store.revocationEvents(after: 2, limit: 10) == RevocationEventPage(events: Array(events[2...]), isComplete: true))
        #expect(try await store.revocationEvents(after: 5, limit: 10) == RevocationEventPage(events: [], isComplete: true))
        #expect(try await store.revocationEvents(after: 0, limit: 0) == RevocationEventPage(events: [], isComplete: true))
        #expect(try await store.revocationEvents(after: UInt64.max, limit: 10) == RevocationEventPage(events: [], isComplete: true))

        let snapshot = try await store.activeRevocations(now: 60)
        #expect(snapshot.headSeq == 5)
        #expect(snapshot.events == [events[1], events[2], events[4]])
        let later = try await store.activeRevocations(now: 250)
        #expect(later.events == [events[2], events[4]])
        await store.close()
    }

    @Test(arguments: StoreKind.all)
    func concurrentRevokesGetDistinctIncreasingSeqsThatSurviveReopening(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()

        let receipts = try await withThrowingTaskGroup(of: RevocationReceipt.self) { group in
            for index in 0..<500 {
                group.addTask {
                    try await store.revoke(
                        RevocationRequest(
                            kind: .token, value: "jti-\(index)", revokedAt: 1_000, expiresAt: 9_000, reason: "bulk"))
                }
            }
            return try await group.reduce(into: [RevocationReceipt]()) { $0.append($1) }
        }
        await store.close()

        let seqs = receipts.map(\.event.seq).sorted()
        #expect(seqs == Array(1...500))
        #expect(Set(receipts.map(\.event.value)).count == 500)

        let reopened = try await fixture.openStore()
        let stored = try await reopened.revocationEvents(after: 0, limit: 1_000)
        #expect(stored == RevocationEventPage(events: receipts.map(\.event).sorted { $0.seq < $1.seq }, isComplete: true))
        let next = try await reopened.revoke(
            RevocationRequest(kind: .token, value: "jti-next", revokedAt: 1_000, expiresAt: 9_000, reason: ""))
        #expect(next.event.seq == 501)
        await reopened.close()
    }

    @Test(arguments: StoreKind.all)
    func purgeDropsExpiredRecordsAndSeqsAreNeverReused(kind: StoreKind) async throws {
        let fixture = try StoreFixture(kind)
        defer { fixture.remove() }
        let store = try await fixture.openStore()
        try await store.createSession(
            StoreFixture.session("old", expiresAt: 500),
            refreshToken: StoreFixture.token(1, session: "old", expiresAt: 500))
        try await store.createSession(
            StoreFixture.session("live", expiresAt: 5_000),
            refreshToken: StoreFixture.token(2, session: "live", expiresAt: 800))
        // Once spent, the first token of "live" is kept for its own lifetime, not its session's.
        #expect(
            try await store.spendRefreshToken(
                hash: StoreFixture.hash(2),
                rotation: RefreshRotation(
                    spentAt: 700, replay: [1], successor: StoreFixture.token(4, session: "live", expiresAt: 5_000),
                    sessionExpiresAt: 5_000)))
        try await store.createSession(
            StoreFixture.session("fresh"), refreshToken: StoreFixture.token(3, session: "fresh"))
        let first = try await store.revoke(
            RevocationRequest(kind: .token, value: "a", revokedAt: 100, expiresAt: 600, reason: ""))
        let second = try await store.revoke(
            RevocationRequest(kind: .token, value: "b", revokedAt: 100, expiresAt: 5_000, reason: ""))
        let third = try await store.revoke(
            RevocationRequest(kind: .token, value: "c", revokedAt: 100, expiresAt: 700, reason: ""))

        try await store.purgeExpired(now: 1_000)

        #expect(try await store.session(id: "old") == nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(1), sessionID: "old") == nil)
        #expect(try await store.session(id: "live") != nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(2), sessionID: "live") == nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(4), sessionID: "live") != nil)
        #expect(try await store.refreshToken(hash: StoreFixture.hash(3), sessionID: "fresh") != nil)
        #expect(try await store.revocationEvents(after: 0, limit: 10) == RevocationEventPage(events: [second.event], isComplete: false))
        #expect(try await store.revocationEvents(after: first.event.seq, limit: 10) == RevocationEventPage(events: [second.event], isComplete: false))
        #expect(try await store.revocationEvents(after: third.event.seq, limit: 10) == RevocationEventPage(events: [], isComplete: true))
        #expect(try await store.activeRevocations(now: 1_000) == RevocationSnapshot(events: [second.event], headSeq: 3))

        try await store.purgeExpired(now: 6_000)
        #expect(try await store.revocationEvents(after: 1, limit: 10) == RevocationEventPage(events: [], isComplete: false))
        #expect(try await store.revocationEvents(after: third.event.seq, limit: 10) == RevocationEventPage(events: [], isComplete: true))
        #expect(try await store.activeRevocations(now: 0) == RevocationSnapshot(events: [], headSeq: 3))
        await store.close()

        let reopened = try await fixture.openStore()
        #expect(try await reopened.activeRevocations(now: 0).headSeq == 3)
        #expect(try await reopened.revocationEvents(after: 2, limit: 10) == RevocationEventPage(events: [], isComplete: false))
        let next = try await reopened.revoke(
            RevocationRequest(kind: .subject, value: "u", revokedAt: 100, expiresAt: 9_000, reason: ""))
        #expect(next.event.seq == 4)
        #expect(try await reopened.revocationEvents(after: 3, limit: 10) == RevocationEventPage(events: [next.event], isComplete: true))
        await reopened.close()
    }
}
