import Synchronization
import Testing
import TokenCore
import TokenRPC
import TokenWire

@testable import TokenClient

/// A validator whose mirror swaps in a snapshot and prunes while other tasks verify cached tokens:
/// no revocation that arrives meanwhile is lost, and every cached token it covers is refused.
/// Everything runs in-process: the keys are set by hand and the batches applied as the stream would.
@Suite struct RevocationRaceTests {
    struct Login {
        let token: String
        let tokenID: String
        let sessionID: String
        let subject: String
    }

    static let issuer = "https://tokens.test"

    /// A validator that never connects (nothing listens on port 1), knowing `key` as "k1".
    static func validator(trusting key: SigningKey) -> TokenValidator {
        var configuration = TokenValidatorConfiguration(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: 1)], credential: "validator", issuer: issuer)
        configuration.audience = "api"
        configuration.staleAfter = .seconds(600)
        let validator = TokenValidator(configuration: configuration)
        validator.storage.withLock { $0.keys = KeySet(keys: ["k1": key.publicKey]) }
        return validator
    }

    static func logins(_ count: Int, key: SigningKey, now: Int64) throws -> [Login] {
        try (0..<count).map { index in
            let claims = Claims(
                issuer: issuer, subject: "user-\(index)", audience: ["api"], scopes: ["read"],
                tokenID: try TokenID.random().text, sessionID: try TokenID.random().text, issuedAt: now,
                expiresAt: now + 900, notBefore: now)
            return Login(
                token: try TokenMinter().mint(claims: claims, key: key, keyID: "k1"), tokenID: claims.tokenID,
                sessionID: claims.sessionID, subject: claims.subject)
        }
    }

    static func event(_ seq: UInt64, _ kind: RevocationKind, _ value: String, now: Int64, expiresAt: Int64? = nil)
        -> WireRevocationEvent
    {
        WireRevocationEvent(seq: seq, kind: kind, value: value, revokedAt: now, expiresAt: expiresAt ?? now + 900)
    }

    /// The revocation of one login, by its token, its session or its subject in turn.
    static func revocation(of login: Login, number: Int, seq: UInt64, now: Int64) -> WireRevocationEvent {
        switch number % 3 {
        case 0: event(seq, .token, login.tokenID, now: now)
        case 1: event(seq, .session, login.sessionID, now: now)
        default: event(seq, .subject, login.subject, now: now)
        }
    }

    @Test func revocationsDuringASnapshotSwapAndAPruneAreNeverLost() async throws {
        let key = try SigningKey.generate(.edDSA)
        let now = SystemClock().now()
        let validator = Self.validator(trusting: key)
        let logins = try Self.logins(300, key: key, now: now)

        // A first snapshot, holding revocations that expired long ago (the prunes' work).
        let expired = try (0..<20_000).map { _ in
            Self.event(1, .token, try TokenID.random().text, now: now - 3_600, expiresAt: now - 3_000)
        }
        _ = validator.apply(RevocationBatch(events: expired, headSeq: 1, snapshot: true))
        _ = validator.apply(RevocationBatch(events: [], headSeq: 1, snapshot: false))
        for login in logins {
            #expect(await validator.verify(login.token).outcome == .valid)
        }
        #expect(await validator.verify(logins[0].token).source == .cache)

        // Thirds of the logins: revoked by the new snapshot, by live batches right after it, by live
        // batches later; the last third stays valid.
        let inSnapshot = Array(logins[0..<75])
        let liveFirst = Array(logins[75..<150])
        let liveLater = Array(logins[150..<225])
        let untouched = Array(logins[225...])
        let race = StreamRace()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The stream: a snapshot in several batches, its completing batch with live events,
                // then more live batches.
                var seq: UInt64 = 10
                var snapshotEvents = inSnapshot.enumerated().map {
                    Self.revocation(of: $1, number: $0, seq: 9, now: now)
                }
                snapshotEvents += expired
                for part in stride(from: 0, to: snapshotEvents.count, by: 1_000) {
                    let batch = Array(snapshotEvents[part..<min(part + 1_000, snapshotEvents.count)])
                    _ = validator.apply(RevocationBatch(events: batch, headSeq: 9, snapshot: true))
                    await Task.yield()
                }
                for (number, login) in liveFirst.enumerated() {
                    _ = validator.apply(
                        RevocationBatch(
                            events: [Self.revocation(of: login, number: number, seq: seq, now: now)], headSeq: seq))
                    seq += 1
                }
                for (number, login) in liveLater.enumerated() {
                    _ = validator.apply(
                        RevocationBatch(
                            events: [Self.revocation(of: login, number: number, seq: seq, now: now)], headSeq: seq))
                    seq += 1
                    await Task.yield()
                }
                race.writing.store(false, ordering: .releasing)
            }
            group.addTask {
                // The maintenance task's prune, again and again while the stream is applied.
                repeat {
                    validator.prune(now: now)
                    await Task.yield()
                } while race.writing.load(ordering: .acquiring)
            }
            for _ in 0..<2 {
                group.addTask {
                    repeat {
                        for login in logins {
                            _ = await validator.verify(login.token)
                            race.verifications.add(1, ordering: .relaxed)
                        }
                        // Tests share the pool's threads: a task that waits for another must yield.
                        await Task.yield()
                    } while race.writing.load(ordering: .acquiring)
                }
            }
            try await group.waitForAll()
        }
        #expect(race.verifications.load(ordering: .relaxed) >= 600)
        validator.prune(now: now)

        for login in inSnapshot + liveFirst + liveLater {
            let answer = await validator.verify(login.token)
            #expect(answer.outcome == .invalid(.revoked), "\(login.subject) was not refused: \(answer.outcome)")
            #expect(answer.source == .cache)
        }
        for login in untouched {
            let answer = await validator.verify(login.token)
            #expect(answer.outcome == .valid, "\(login.subject): \(answer.outcome)")
            #expect(answer.claims?.subject == login.subject)
        }
        let state = validator.state
        #expect(state.revocations == 225)
        #expect(state.snapshotsApplied == 2)
        #expect(state.cacheEntries == 300)
    }

    @Test func aCachedVerificationReadsItsClaimsFromTheToken() async throws {
        let key = try SigningKey.generate(.edDSA)
        let now = SystemClock().now()
        let validator = Self.validator(trusting: key)
        _ = validator.apply(RevocationBatch(events: [], headSeq: 0, snapshot: true))
        _ = validator.apply(RevocationBatch(events: [], headSeq: 0, snapshot: false))
        let login = try #require(try Self.logins(1, key: key, now: now).first)
        let first = await validator.verify(login.token)
        let second = await validator.verify(login.token)
        #expect(first.source == .local)
        #expect(second.source == .cache)
        #expect(second.claims == first.claims)
        #expect(second.claims?.tokenID == login.tokenID)
        #expect(second == TokenValidation(outcome: .valid, claims: first.claims, source: .cache))
        // An audience other than the configured one is checked against the token's own claims.
        #expect(await validator.verify(login.token, audience: "api").outcome == .valid)
        #expect(await validator.verify(login.token, audience: "other").outcome == .invalid(.wrongAudience))
        #expect(validator.state.cacheHits == 3)
        #expect(validator.state.cacheMisses == 1)
    }
}

/// What the tasks of the race share.
private final class StreamRace: Sendable {
    let writing = Atomic(true)
    let verifications = Atomic(0)
}
