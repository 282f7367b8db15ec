import Testing
import TokenClient
import TokenRPC
import TokenWire

@Suite struct KeyRotationTests {
    @Test func rotationPromotesThePublishedNextKeyAndKeepsOldTokensValid() async throws {
        try await TokenTestServer.with { server in
            let anonymous = server.client("")
            let before = try await anonymous.getKeys()
            #expect(before.cacheMaxAgeSeconds > 0)
            let active = try #require(before.keys.first { $0.state == .active })
            let next = try #require(before.keys.first { $0.state == .next })
            #expect(before.jwksJSON.contains(active.keyID))
            #expect(before.jwksJSON.contains(next.keyID))

            let old = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            #expect(old.keyID == active.keyID)

            let rotated = try await server.client("admin").rotateKeys()
            #expect(rotated.keyID == next.keyID)
            let after = try await anonymous.getKeys()
            #expect(after.keys.first { $0.state == .active }?.keyID == next.keyID)
            #expect(after.keys.first { $0.state == .retiring }?.keyID == active.keyID)
            let fresh = try #require(after.keys.first { $0.state == .next })
            #expect(fresh.keyID != active.keyID && fresh.keyID != next.keyID)

            let new = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            #expect(new.keyID == next.keyID)
            let validator = server.client("validator")
            #expect(try await validator.validate(ValidateRequest(token: old.accessToken)).valid)
            #expect(try await validator.validate(ValidateRequest(token: new.accessToken)).valid)

            // Once every token the retiring key signed has expired, it is no longer published.
            server.clock.advance(by: 900 + 30 + 1)
            await server.service.maintain()
            let pruned = try await anonymous.getKeys()
            #expect(!pruned.keys.contains { $0.keyID == active.keyID })
            #expect(pruned.keys.count == 2)
        }
    }

    @Test func theScheduleRotatesAnAgedActiveKey() async throws {
        try await TokenTestServer.with(configure: { $0.rotateEvery = 3_600 }) { server in
            let anonymous = server.client("")
            let next = try #require(try await anonymous.getKeys().keys.first { $0.state == .next })
            server.clock.advance(by: 3_600)
            await server.service.maintain()
            #expect(try await anonymous.getKeys().keys.first { $0.state == .active }?.keyID == next.keyID)
        }
    }

    @Test func es256KeysSignAndVerify() async throws {
        try await TokenTestServer.with(configure: { $0.algorithm = .es256 }) { server in
            let keys = try await server.client("").getKeys()
            #expect(keys.keys.allSatisfy { $0.algorithm == "ES256" })
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            #expect(try await server.client("validator").validate(ValidateRequest(token: issued.accessToken)).valid)
        }
    }
}
