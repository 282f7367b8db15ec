import Foundation
import Synchronization
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenTestSupport
import TokenWire

/// `TokenValidator` against a real service on loopback.
@Suite struct TokenValidatorTests {
    /// Servers that send heartbeats often, so mirrors turn fresh at once.
    static func fastHeartbeats(_ configuration: inout TokenServiceConfiguration) {
        configuration.heartbeatInterval = .milliseconds(50)
    }

    @Test func everyRevokedTokenIsRejectedAndPropagationIsTimed() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let issuer = server.client("issuer")
                let tokens = try await withThrowingTaskGroup(of: IssueResponse.self) { group in
                    for index in 0..<1_000 {
                        group.addTask { try await issuer.issue(IssueRequest(subject: "user-\(index)", audience: ["api"])) }
                    }
                    return try await group.reduce(into: [IssueResponse]()) { $0.append($1) }
                }
                for token in tokens {
                    let first = await validator.verify(token.accessToken)
                    #expect(first.outcome == .valid)
                    #expect(first.source == .local)
                    #expect(first.claims?.tokenID == token.tokenID)
                }
                let gateway = server.client("gateway")
                var delays: [Duration] = []
                for token in tokens {
                    let seq = try await gateway.revoke(RevokeRequest(target: .tokenID(token.tokenID))).seq
                    let answered = ContinuousClock.now
                    try await within(.seconds(10), "revocation \(seq) to reach the mirror") {
                        try await validator.waitUntilApplied(seq: seq)
                    }
                    delays.append(ContinuousClock.now - answered)
                    let after = await validator.verify(token.accessToken)
                    #expect(after.outcome == .invalid(.revoked))
                    #expect(after.source == .cache)
                }
                let sorted = delays.sorted()
                let p50 = sorted[sorted.count / 2]
                let p99 = sorted[sorted.count * 99 / 100]
                print("revocation propagation over \(sorted.count) revocations: p50 \(p50) p99 \(p99) max \(sorted[sorted.count - 1])")
                let state = validator.state
                #expect(state.revocations == 1_000)
                #expect(state.snapshotsApplied == 1)
            }
        }
    }

    @Test func cachedTokensHonourRevocationExpiryAndTheBound() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port) { $0.cacheCapacity = 50 }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let issuer = server.client("issuer")
                let login = try await issuer.issue(IssueRequest(subject: "alice", audience: ["api"]))
                #expect(await validator.verify(login.accessToken).source == .local)
                let cached = await validator.verify(login.accessToken)
                #expect(cached.outcome == .valid)
                #expect(cached.source == .cache)
                #expect(await validator.verify(login.accessToken, audience: "api").outcome == .valid)
                #expect(await validator.verify(login.accessToken, audience: "other").outcome == .invalid(.wrongAudience))

                // Revoked while cached: the cached entry is rejected.
                let seq = try await server.client("gateway").revoke(RevokeRequest(target: .sessionID(login.sessionID))).seq
                try await validator.waitUntilApplied(seq: seq)
                let revoked = await validator.verify(login.accessToken)
                #expect(revoked.outcome == .invalid(.revoked))
                #expect(revoked.source == .cache)

                // Expired while cached.
                let other = try await issuer.issue(IssueRequest(subject: "bob", accessTTLSeconds: 60))
                #expect(await validator.verify(other.accessToken).outcome == .valid)
                server.clock.advance(by: 60 + 30)
                let expired = await validator.verify(other.accessToken)
                #expect(expired.outcome == .invalid(.expired))
                #expect(expired.source == .cache)

                // The cache never grows past its bound; the oldest entries go first.
                let many = try await withThrowingTaskGroup(of: IssueResponse.self) { group in
                    for index in 0..<200 {
                        group.addTask { try await issuer.issue(IssueRequest(subject: "user-\(index)")) }
                    }
                    return try await group.reduce(into: [IssueResponse]()) { $0.append($1) }
                }
                for token in many {
                    #expect(await validator.verify(token.accessToken).outcome == .valid)
                    #expect(validator.state.cacheEntries <= 50)
                }
                #expect(validator.state.cacheEntries == 50)
                #expect(await validator.verify(many[0].accessToken).source == .local)
                #expect(await validator.verify(many[199].accessToken).source == .cache)
            }
        }
    }

    @Test func strictCallsAskTheServiceAndLocalFailuresNeedNoCall() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let login = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
                let strict = await validator.verify(login.accessToken, mode: .strict)
                #expect(strict.outcome == .valid)
                #expect(strict.source == .service)
                #expect(validator.state.fallbacks == 1)

                var tampered = Array(login.accessToken.utf8)
                tampered[tampered.count - 2] = tampered[tampered.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                let bad = await validator.verify(String(decoding: tampered, as: UTF8.self), mode: .strict)
                #expect(bad.outcome == .invalid(.badSignature))
                #expect(await validator.verify("not a token").outcome == .invalid(.malformed))
                #expect(validator.state.fallbacks == 1)
            }
        }
    }

    @Test func withoutKeysOnlyMalformedTokensAreJudged() async throws {
        // Nothing listens on port 1 of the loopback address: the keys can never be fetched.
        var configuration = ValidatorHarness.configuration(port: 1)
        configuration.fallbackTimeout = .milliseconds(200)
        let validator = TokenValidator(configuration: configuration)
        #expect(await validator.verify("garbage").outcome == .invalid(.malformed))
        let header = Base64URL.encode(Array(#"{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}"#.utf8))
        let payload = Base64URL.encode(Array(#"{"sub":"alice"}"#.utf8))
        let signature = Base64URL.encode([UInt8](repeating: 7, count: 64))
        let unknown = await validator.verify("\(header).\(payload).\(signature)")
        #expect(unknown.outcome == .unknown)
        #expect(unknown.reasonName == "revocation_state_unknown")
        #expect(!validator.state.keysLoaded)
        #expect(validator.state.unknownRefusals == 1)
    }

    @Test func clientsFailOverToTheNextEndpoint() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            // Nothing listens on port 1 of the loopback address: every connection there is refused.
            let endpoints = [RPCEndpoint(host: "127.0.0.1", port: 1), RPCEndpoint(host: "127.0.0.1", port: server.port)]
            let admin = TokenServiceClient(endpoints: endpoints, credential: "admin")
            let login = try await admin.issue(IssueRequest(subject: "alice", withRefreshToken: true))
            var configuration = ValidatorHarness.configuration(port: server.port)
            configuration.endpoints = endpoints
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                #expect(await validator.verify(login.accessToken).outcome == .valid)
                let seq = try await admin.logout(refreshToken: login.refreshToken)
                try await validator.waitUntilApplied(seq: seq)
                #expect(await validator.verify(login.accessToken).outcome == .invalid(.revoked))
                #expect(try await admin.sessions(of: "alice").isEmpty)
            }
            await admin.close()
        }
    }

    @Test func keyRotationUnderLoadCausesNoUnknownKey() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let issuer = server.client("issuer")
                let fetchesAtStart = validator.state.keyFetches
                var outcomes: [TokenValidation.Outcome] = []
                var keyIDs: Set<String> = []
                for _ in 0..<3 {
                    // Tokens are minted and verified while the rotation runs, and after it.
                    async let rotation = server.client("admin").rotateKeys()
                    let during = try await Self.issueAndVerify(64, issuer: issuer, validator: validator)
                    let rotated = try await rotation
                    let after = try await Self.issueAndVerify(64, issuer: issuer, validator: validator)
                    outcomes += (during + after).map(\.outcome)
                    keyIDs.formUnion((during + after).compactMap(\.keyID))
                    #expect(after.allSatisfy { $0.keyID == rotated.keyID })
                    // The periodic refresh picks up the new NEXT key before the next rotation.
                    await validator.refreshKeys()
                }
                #expect(outcomes.count == 3 * 128)
                #expect(outcomes.allSatisfy { $0 == .valid })
                #expect(keyIDs.count >= 3)
                // No fetch was caused by an unknown kid: only the three explicit refreshes.
                #expect(validator.state.keyFetches == fetchesAtStart + 3)
            }
        }
    }

    /// Issues `count` tokens at once and verifies each as soon as it is minted.
    private static func issueAndVerify(
        _ count: Int,
        issuer: TokenServiceClient,
        validator: TokenValidator
    ) async throws -> [(outcome: TokenValidation.Outcome, keyID: String?)] {
        try await withThrowingTaskGroup(of: (TokenValidation.Outcome, String?).self) { group in
            for index in 0..<count {
                group.addTask {
                    let token = try await issuer.issue(IssueRequest(subject: "load-\(index)"))
                    return (await validator.verify(token.accessToken).outcome, token.keyID)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test func aFloodOfForgedKeyIDsCausesAtMostOneFetchPerCooldown() async throws {
        try await TokenTestServer.with(configure: Self.fastHeartbeats) { server in
            let configuration = ValidatorHarness.configuration(port: server.port) {
                $0.unknownKeyCooldown = .seconds(1)
            }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let login = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
                let parts = login.accessToken.split(separator: ".")
                let fetchesBefore = validator.state.keyFetches
                let started = ContinuousClock.now
                let outcomes = await withTaskGroup(of: [TokenValidation.Outcome].self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var outcomes: [TokenValidation.Outcome] = []
                            for index in stride(from: worker, to: 10_000, by: 8) {
                                let header = #"{"alg":"EdDSA","typ":"at+jwt","kid":"forged-\#(index)-\#(UInt64.random(in: 0...UInt64.max))"}"#
                                let token = Base64URL.encode(Array(header.utf8)) + ".\(parts[1]).\(parts[2])"
                                outcomes.append(await validator.verify(token).outcome)
                            }
                            return outcomes
                        }
                    }
                    return await group.reduce(into: []) { $0 += $1 }
                }
                let elapsed = ContinuousClock.now - started
                #expect(outcomes.count == 10_000)
                #expect(outcomes.allSatisfy { $0 == .invalid(.unknownKey) })
                let fetches = validator.state.keyFetches - fetchesBefore
                let allowed = UInt64((elapsed / .seconds(1)).rounded(.up)) + 1
                print("forged-kid flood: 10000 tokens in \(elapsed), \(fetches) GetKeys calls")
                #expect(fetches >= 1)
                #expect(fetches <= allowed)
            }
        }
    }
}
