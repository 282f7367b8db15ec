import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenTestSupport
import TokenWire

/// Key changes made on one instance reach the validators of another through the shared log, as its
/// revocations do.
@Suite("Key events across instances on one Redis", .enabled(if: RedisTestServer.isRequired))
struct RedisKeyEventsTests {
    @Test func fiftyRotationsOnOneInstanceCauseNoRefusalAtAValidatorOfTheOther() async throws {
        try await RedisInstancePair.with(skew: 0) { pair in
            // Keys must come with their events, however long a loaded machine makes them take: a
            // fetch for an unknown kid is held back all along.
            let configuration = ValidatorHarness.configuration(port: pair.b.port) {
                $0.unknownKeyCooldown = .seconds(600)
                $0.unknownKeyWait = .seconds(10)
            }
            try await ValidatorHarness.run(configuration, clock: pair.b.clock) { validator in
                let fetchesBefore = validator.state.keyFetches
                var outcomes: [TokenValidation.Outcome] = []
                var lastSeq: UInt64 = 0
                for round in 0..<50 {
                    let rotated = try await pair.a.client("admin").rotateKeys()
                    lastSeq = rotated.seq
                    let issued = try await pair.a.client("issuer").issue(IssueRequest(subject: "user-\(round)"))
                    #expect(issued.keyID == rotated.keyID)
                    outcomes += await withTaskGroup(of: TokenValidation.Outcome.self) { group in
                        for _ in 0..<2 {
                            group.addTask { await validator.verify(issued.accessToken).outcome }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                }
                let refused = outcomes.filter { $0 != .valid }
                let kinds = Set(refused.map { "\($0)" })
                #expect(refused.count == 0, "\(refused.count) of \(outcomes.count) refused: \(kinds)")
                #expect(validator.state.keyFetches == fetchesBefore, "keys were fetched instead of streamed")
                // Once B's watchers have the last rotation, B itself signs with A's newest key and
                // publishes the same ring.
                try await within(.seconds(10), "the last rotation to reach the validator") { [lastSeq] in
                    try await validator.waitUntilApplied(seq: lastSeq)
                }
                let onB = try await pair.b.client("issuer").issue(IssueRequest(subject: "last"))
                #expect(onB.keyID == (try await pair.a.client("").getKeys().keys.first?.keyID))
                #expect(try await pair.b.client("").getKeys().keys == (try await pair.a.client("").getKeys().keys))
            }
        }
    }

    @Test func aKeyRevokedOnOneInstanceIsRefusedByTheOtherAndItsValidators() async throws {
        try await RedisInstancePair.with(skew: 0) { pair in
            let configuration = ValidatorHarness.configuration(port: pair.b.port)
            try await ValidatorHarness.run(configuration, clock: pair.b.clock) { validator in
                let cached = try await pair.a.client("issuer").issue(IssueRequest(subject: "alice"))
                let fresh = try await pair.a.client("issuer").issue(IssueRequest(subject: "bob"))
                #expect(await validator.verify(cached.accessToken).outcome == .valid)

                let rotated = try await pair.a.client("admin").rotateKeys(RotateKeysRequest(revokePrevious: true))
                #expect(rotated.revokedKeyID == cached.keyID)
                try await within(.seconds(10), "the key's revocation to reach the validator of B") {
                    try await validator.waitUntilApplied(seq: rotated.seq)
                }
                #expect(await validator.verify(cached.accessToken).outcome == .invalid(.revoked))
                #expect(await validator.verify(fresh.accessToken).outcome == .invalid(.revoked))
                // B read the new ring before its watchers got the change.
                let keys = try await pair.b.client("").getKeys()
                #expect(!keys.keys.contains { $0.keyID == cached.keyID })
                #expect(!keys.jwksJSON.contains(cached.keyID))
                let onB = try await pair.b.client("validator").validate(ValidateRequest(token: fresh.accessToken))
                #expect(onB.reason == .revoked)
                #expect(try await pair.b.client("issuer").issue(IssueRequest(subject: "carol")).keyID == rotated.keyID)
            }
        }
    }
}
