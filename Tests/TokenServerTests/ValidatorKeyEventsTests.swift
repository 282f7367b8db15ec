import Foundation
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenWire

@testable import TokenServer

/// A `TokenValidator` gets key changes from the revocation stream: no unknown-`kid` refusal at any
/// rotation cadence, and a revoked key's tokens refused, cached ones included.
@Suite struct ValidatorKeyEventsTests {
    @Test func fiftyRotationsBackToBackCauseNoRefusalAtAValidator() async throws {
        try await TokenTestServer.with(configure: KeyEventsTests.fastHeartbeats) { server in
            // A key fetch cannot help within the test: every key must come with its event, however
            // long a loaded machine makes it take.
            let configuration = ValidatorHarness.configuration(port: server.port) {
                $0.unknownKeyCooldown = .seconds(600)
                $0.unknownKeyWait = .seconds(10)
            }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let fetchesBefore = validator.state.keyFetches
                let admin = server.client("admin")
                let issuer = server.client("issuer")
                var outcomes: [TokenValidation.Outcome] = []
                for round in 0..<50 {
                    let rotated = try await admin.rotateKeys()
                    // At once, the instant the rotation answered: a token of the new ACTIVE key, and
                    // one of the NEXT key this rotation published (what a rotation right after would
                    // promote), whose event is still on its way; then one the service issues.
                    let now = server.clock.now()
                    let next = server.service.keys.snapshot.ring.next
                    let minted = try [
                        TokenMinter().mint(
                            claims: try KeyEventsTests.claims(subject: "user-\(round)", now: now),
                            key: try KeyEventsTests.signingKey(rotated.keyID, of: server), keyID: rotated.keyID),
                        TokenMinter().mint(
                            claims: try KeyEventsTests.claims(subject: "user-\(round)", now: now), key: next.key,
                            keyID: next.keyID),
                    ]
                    outcomes += await withTaskGroup(of: TokenValidation.Outcome.self) { group in
                        for token in minted + minted {
                            group.addTask { await validator.verify(token).outcome }
                        }
                        return await group.reduce(into: []) { $0.append($1) }
                    }
                    let issued = try await issuer.issue(IssueRequest(subject: "user-\(round)", audience: ["api"]))
                    #expect(issued.keyID == rotated.keyID)
                    outcomes.append(await validator.verify(issued.accessToken).outcome)
                }
                #expect(outcomes.count == 250)
                let refused = outcomes.filter { $0 != .valid }
                let kinds = Set(refused.map { "\($0)" })
                #expect(refused.count == 0, "\(refused.count) of \(outcomes.count) refused: \(kinds)")
                #expect(validator.state.keyFetches == fetchesBefore, "keys were fetched instead of streamed")
                #expect(validator.state.keyCount == 52)
            }
        }
    }

    @Test func aValidatorRefusesTheRevokedKeysTokensFreshAndCached() async throws {
        try await TokenTestServer.with(configure: KeyEventsTests.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let issuer = server.client("issuer")
                let cached = try await issuer.issue(IssueRequest(subject: "alice"))
                let fresh = try await issuer.issue(IssueRequest(subject: "bob"))
                #expect(await validator.verify(cached.accessToken).outcome == .valid)
                #expect(await validator.verify(cached.accessToken).source == .cache)

                let rotated = try await server.client("admin").rotateKeys(RotateKeysRequest(revokePrevious: true))
                try await within(.seconds(10), "the key's revocation to reach the validator") {
                    try await validator.waitUntilApplied(seq: rotated.seq)
                }
                let wasCached = await validator.verify(cached.accessToken)
                #expect(wasCached.outcome == .invalid(.revoked))
                #expect(wasCached.source == .cache)
                let neverSeen = await validator.verify(fresh.accessToken)
                #expect(neverSeen.outcome == .invalid(.revoked))
                #expect(neverSeen.source == .local)
                #expect(validator.state.keyCount == 2)
                let after = try await issuer.issue(IssueRequest(subject: "carol"))
                #expect(await validator.verify(after.accessToken).outcome == .valid)
            }
        }
    }
}
