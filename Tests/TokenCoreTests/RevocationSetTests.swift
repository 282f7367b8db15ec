import Synchronization
import Testing
import TokenCore

@Suite struct RevocationSetTests {
    let now: Int64 = 5_000

    @Test func revokesByTokenSessionAndSubject() throws {
        let jti = try TokenID.random().text
        var set = RevocationSet()
        set.apply(RevocationEvent(seq: 1, kind: .token, value: jti, revokedAt: now, expiresAt: now + 60))
        set.apply(RevocationEvent(seq: 2, kind: .session, value: "s1", revokedAt: now, expiresAt: now + 60))
        set.apply(RevocationEvent(seq: 3, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60))
        #expect(set.count == 3)
        #expect(set.isRevoked(tokenID: jti, sessionID: "s9", subject: "carol", issuedAt: now))
        #expect(set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s1", subject: "carol", issuedAt: now))
        #expect(set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s9", subject: "bob", issuedAt: now))
        #expect(!set.isRevoked(tokenID: try TokenID.random().text, sessionID: "s9", subject: "bob", issuedAt: now + 1))
        #expect(!set.isRevoked(tokenID: try TokenID.random().text, sessionID: "", subject: "carol", issuedAt: now))
    }

    @Test func applyIsIdempotentAndLatestSubjectRevocationWins() {
        var set = RevocationSet()
        let event = RevocationEvent(seq: 1, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60)
        set.apply(event)
        set.apply(event)
        #expect(set.count == 1)
        set.apply(RevocationEvent(seq: 2, kind: .subject, value: "bob", revokedAt: now + 10, expiresAt: now + 70))
        set.apply(RevocationEvent(seq: 1, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60))
        #expect(set.count == 1)
        #expect(set.isRevoked(tokenID: "x", sessionID: "", subject: "bob", issuedAt: now + 10))
        #expect(!set.isRevoked(tokenID: "x", sessionID: "", subject: "bob", issuedAt: now + 11))
        var pruned = set
        pruned.prune(now: now + 61)
        #expect(pruned.count == 1, "the later event's expiry is kept")
    }

    @Test func nonCanonicalTokenIDsAreKeptToo() {
        var set = RevocationSet()
        set.apply(RevocationEvent(seq: 1, kind: .token, value: "external-id-1", revokedAt: now, expiresAt: now + 1))
        #expect(set.isRevoked(tokenID: "external-id-1", sessionID: "", subject: "a", issuedAt: now))
        #expect(!set.isRevoked(tokenID: "external-id-2", sessionID: "", subject: "a", issuedAt: now))
    }

    @Test func pruneDropsExpiredEntriesOnly() throws {
        var set = RevocationSet()
        set.apply(
            RevocationEvent(seq: 1, kind: .token, value: try TokenID.random().text, revokedAt: now, expiresAt: now + 10)
        )
        set.apply(RevocationEvent(seq: 2, kind: .session, value: "s", revokedAt: now, expiresAt: now + 20))
        set.apply(RevocationEvent(seq: 3, kind: .subject, value: "u", revokedAt: now, expiresAt: now + 30))
        set.prune(now: now + 10)
        #expect(set.count == 3)
        set.prune(now: now + 11)
        #expect(set.count == 2)
        set.prune(now: now + 21)
        #expect(set.count == 1)
        set.prune(now: now + 31)
        #expect(set.isEmpty)
    }

    @Test func aProbeAnswersLikeTheClaimsOrSaysItCannotTell() throws {
        let jti = try TokenID.random()
        let sid = try TokenID.random()
        var set = RevocationSet()
        let claims = Claims(
            issuer: "i", subject: "bob", audience: [], scopes: [], tokenID: jti.text, sessionID: sid.text,
            issuedAt: now, expiresAt: now + 60, notBefore: now)
        let probe = try #require(RevocationProbe(claims))
        #expect(set.isRevoked(probe) == false)
        set.apply(RevocationEvent(seq: 1, kind: .subject, value: "carol", revokedAt: now, expiresAt: now + 60))
        #expect(set.isRevoked(probe) == false)
        set.apply(RevocationEvent(seq: 2, kind: .subject, value: "bob", revokedAt: now - 1, expiresAt: now + 60))
        #expect(set.isRevoked(probe) == false, "bob's revocation is older than the token")
        set.apply(RevocationEvent(seq: 3, kind: .subject, value: "bob", revokedAt: now, expiresAt: now + 60))
        #expect(set.isRevoked(probe) == nil, "a matching subject fingerprint needs the subject's text")
        #expect(set.isRevoked(claims))

        var bySession = RevocationSet()
        bySession.apply(RevocationEvent(seq: 1, kind: .session, value: sid.text, revokedAt: now, expiresAt: now + 60))
        #expect(bySession.isRevoked(probe) == true)
        var byToken = RevocationSet()
        byToken.apply(RevocationEvent(seq: 1, kind: .token, value: jti.text, revokedAt: now, expiresAt: now + 60))
        #expect(byToken.isRevoked(probe) == true)

        // Ids that are not canonical have no probe: their claims are checked.
        var other = claims
        other.sessionID = "session-1"
        #expect(RevocationProbe(other) == nil)
        bySession.apply(
            RevocationEvent(seq: 2, kind: .session, value: "session-1", revokedAt: now, expiresAt: now + 60))
        #expect(bySession.isRevoked(other))
    }

    @Test func theSharedSetAnswersAsOneSet() throws {
        let shared = SharedRevocationSet()
        var single = RevocationSet()
        var claims: [Claims] = []
        for index in 0..<200 {
            let claim = Claims(
                issuer: "i", subject: "user-\(index % 50)", audience: [], scopes: [],
                tokenID: try TokenID.random().text,
                sessionID: index % 3 == 0 ? "" : try TokenID.random().text, issuedAt: now + Int64(index % 7),
                expiresAt: now + 60, notBefore: now)
            claims.append(claim)
            let event: RevocationEvent
            switch index % 4 {
            case 0:
                event = RevocationEvent(seq: 1, kind: .token, value: claim.tokenID, revokedAt: now, expiresAt: now + 60)
            case 1:
                event = RevocationEvent(
                    seq: 1, kind: .session, value: claim.sessionID, revokedAt: now, expiresAt: now + 60)
            case 2:
                event = RevocationEvent(
                    seq: 1, kind: .subject, value: claim.subject, revokedAt: now + 3, expiresAt: now + 60)
            default: continue
            }
            if event.value.isEmpty { continue }
            shared.apply(event)
            single.apply(event)
        }
        #expect(shared.count == single.count)
        for claim in claims {
            #expect(shared.isRevoked(claim) == single.isRevoked(claim))
            if let probe = RevocationProbe(claim) {
                #expect(shared.isRevoked(probe) == single.isRevoked(probe))
            }
        }
        shared.prune(now: now + 61)
        #expect(shared.isEmpty)
    }

    @Test func contentsSwapInWholeAndTheOldOnesComeBack() throws {
        let shared = SharedRevocationSet()
        let old = try TokenID.random().text
        shared.apply(RevocationEvent(seq: 1, kind: .token, value: old, revokedAt: now, expiresAt: now + 60))
        var contents = SharedRevocationSet.Contents()
        let fresh = (0..<100).map { _ in (try? TokenID.random().text) ?? "" }
        for id in fresh {
            contents.apply(RevocationEvent(seq: 2, kind: .token, value: id, revokedAt: now, expiresAt: now + 60))
        }
        #expect(contents.count == 100)
        shared.exchangeContents(with: &contents)
        #expect(shared.count == 100)
        #expect(contents.count == 1)
        #expect(fresh.allSatisfy { shared.isRevoked(Self.claims(tokenID: $0, now: now)) })
        #expect(!shared.isRevoked(Self.claims(tokenID: old, now: now)))
    }

    /// Revocations applied while prunes run on another thread, before and after a swap of the whole
    /// contents, are all in force afterwards (the swapped-in contents hold what came before the swap,
    /// as a snapshot of the stream does).
    @Test func nothingAppliedAroundAPruneOrASwapIsLost() async throws {
        let shared = SharedRevocationSet()
        let now = self.now
        // Half of what the set holds expires, so each prune has work in every shard.
        for index in 0..<20_000 {
            shared.apply(
                RevocationEvent(
                    seq: 1, kind: .token, value: try TokenID.random().text, revokedAt: now,
                    expiresAt: index % 2 == 0 ? now - 1 : now + 60))
        }
        let live = try (0..<6_000).map { _ in try TokenID.random().text }
        let sessions = try (0..<1_000).map { _ in try TokenID.random().text }
        let events: [[RevocationEvent]] = live.indices.map { index in
            var events = [
                RevocationEvent(seq: 2, kind: .token, value: live[index], revokedAt: now, expiresAt: now + 60)
            ]
            if index < sessions.count {
                events.append(
                    RevocationEvent(seq: 2, kind: .session, value: sessions[index], revokedAt: now, expiresAt: now + 60)
                )
            }
            return events
        }
        let swapAt = live.count / 2
        var replacement = SharedRevocationSet.Contents()
        for index in 0..<swapAt {
            events[index].forEach { replacement.apply($0) }
        }
        for _ in 0..<20_000 {
            replacement.apply(
                RevocationEvent(
                    seq: 1, kind: .token, value: try TokenID.random().text, revokedAt: now, expiresAt: now - 1))
        }
        let race = Race()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [replacement] in
                var contents = replacement
                for index in live.indices {
                    if index == swapAt {
                        shared.exchangeContents(with: &contents)
                    }
                    events[index].forEach { shared.apply($0) }
                    if index % 100 == 0 {
                        await Task.yield()
                    }
                }
                race.writing.store(false, ordering: .releasing)
            }
            group.addTask {
                repeat {
                    shared.prune(now: now)
                    race.prunes.add(1, ordering: .relaxed)
                    // Tests share the pool's threads: a task that waits for another must yield.
                    await Task.yield()
                } while race.writing.load(ordering: .acquiring)
            }
        }
        shared.prune(now: now)
        let missing = live.filter { !shared.isRevoked(Self.claims(tokenID: $0, now: now)) }
        #expect(
            missing.isEmpty,
            "\(missing.count) of \(live.count) token revocations lost (\(race.prunes.load(ordering: .relaxed)) prunes)")
        let missingSessions = try sessions.filter {
            !shared.isRevoked(Self.claims(tokenID: try TokenID.random().text, sessionID: $0, now: now))
        }
        #expect(missingSessions.isEmpty, "\(missingSessions.count) session revocations lost")
        #expect(shared.count == live.count + sessions.count)
    }

    static func claims(tokenID: String, sessionID: String = "", now: Int64) -> Claims {
        Claims(
            issuer: "i", subject: "nobody", audience: [], scopes: [], tokenID: tokenID, sessionID: sessionID,
            issuedAt: now, expiresAt: now + 60, notBefore: now)
    }
}

/// What the two tasks of a race share.
private final class Race: Sendable {
    let writing = Atomic(true)
    let prunes = Atomic(0)
}
