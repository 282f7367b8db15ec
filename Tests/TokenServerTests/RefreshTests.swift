import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenWire

@Suite struct RefreshTests {
    @Test func refreshRotatesThePair() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            #expect(!login.refreshToken.isEmpty)
            #expect(login.refreshExpiresAt == server.clock.now() + 2_592_000)
            server.clock.advance(by: 60)
            let gateway = server.client("gateway")
            let refreshed = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            #expect(refreshed.refreshToken != login.refreshToken)
            #expect(refreshed.accessToken != login.accessToken)
            #expect(refreshed.sessionID == login.sessionID)
            #expect(refreshed.refreshExpiresAt == server.clock.now() + 2_592_000)
            let answer = try await gateway.validate(ValidateRequest(token: refreshed.accessToken, audience: "api"))
            #expect(answer.valid)
            #expect(answer.claims?.scopes == ["read"])
            // The successor works in turn.
            server.clock.advance(by: 60)
            let again = try await gateway.refresh(RefreshRequest(refreshToken: refreshed.refreshToken))
            #expect(again.sessionID == login.sessionID)
        }
    }

    @Test func retryWithinTheGraceGetsTheSamePair() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let first = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            server.clock.advance(by: 10)
            let retry = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            #expect(retry == first)
            #expect(try await gateway.validate(ValidateRequest(token: first.accessToken)).valid)
        }
    }

    @Test func reuseAfterTheGraceRevokesTheSession() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let rotated = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            server.clock.advance(by: 11)
            let reuse = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            }
            #expect(reuse?.code == .unauthenticated)
            // The whole session is gone: its access tokens and its live refresh token.
            #expect(try await gateway.validate(ValidateRequest(token: rotated.accessToken)).reason == .revoked)
            #expect(try await gateway.validate(ValidateRequest(token: login.accessToken)).reason == .revoked)
            let successor = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: rotated.refreshToken))
            }
            #expect(successor?.code == .unauthenticated)
            #expect(try await server.client("admin").listSessions(ListSessionsRequest(subject: "alice")).sessions.isEmpty)
        }
    }

    @Test func graceZeroTreatsEveryRepeatAsReuse() async throws {
        try await TokenTestServer.with(configure: { $0.refreshReuseGrace = 0 }) { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let rotated = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            let repeated = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            }
            #expect(repeated?.code == .unauthenticated)
            #expect(try await gateway.validate(ValidateRequest(token: rotated.accessToken)).reason == .revoked)
        }
    }

    @Test func unknownExpiredAndRevokedRefreshTokensAreRejected() async throws {
        try await TokenTestServer.with(configure: { $0.refreshTTL = 3_600 }) { server in
            let gateway = server.client("gateway")
            let unknown = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: "not-a-token"))
            }
            #expect(unknown?.code == .unauthenticated)

            let expiring = try await server.client("issuer").login("alice")
            server.clock.advance(by: 3_600)
            let expired = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: expiring.refreshToken))
            }
            #expect(expired?.code == .unauthenticated)

            let revoked = try await server.client("issuer").login("bob")
            _ = try await gateway.revoke(RevokeRequest(target: .sessionID(revoked.sessionID)))
            let afterRevoke = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: revoked.refreshToken))
            }
            #expect(afterRevoke?.code == .unauthenticated)
        }
    }

    @Test func aForgedTokenNamingARealSessionIsRefusedAndTheSessionLivesOn() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            // The session id part is real; the secret part is not.
            var bytes = try Base64URL.decode(login.refreshToken)
            bytes[20] ^= 0x01
            let forged = Base64URL.encode(bytes)
            let refused = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: forged))
            }
            #expect(refused?.code == .unauthenticated)
            // Not taken for reuse: the session and its real token still work.
            #expect(try await gateway.validate(ValidateRequest(token: login.accessToken)).valid)
            let refreshed = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            #expect(refreshed.sessionID == login.sessionID)
        }
    }

    @Test func sixtyFourRacingRefreshesMintExactlyOnePair() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let answers = try await withThrowingTaskGroup(of: IssueResponse.self) { group in
                for _ in 0..<64 {
                    group.addTask { try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken)) }
                }
                return try await group.reduce(into: [IssueResponse]()) { $0.append($1) }
            }
            #expect(answers.count == 64)
            #expect(Set(answers.map(\.refreshToken)).count == 1)
            #expect(Set(answers.map(\.accessToken)).count == 1)
            // The one minted successor is live; the session was not revoked by the race.
            let next = try await gateway.refresh(RefreshRequest(refreshToken: answers[0].refreshToken))
            #expect(next.sessionID == login.sessionID)
        }
    }
}
