import Testing
import TokenClient
import TokenRPC
import TokenWire

@Suite struct RevokeTests {
    @Test func revokingAnAccessTokenLeavesItsSessionAlive() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let sibling = try await gateway.refresh(RefreshRequest(refreshToken: login.refreshToken))
            let receipt = try await gateway.revoke(RevokeRequest(target: .token(login.accessToken), reason: "logout"))
            #expect(receipt.seq > 0)
            #expect(receipt.sessionsRevoked == 0)
            #expect(try await gateway.validate(ValidateRequest(token: login.accessToken)).reason == .revoked)
            #expect(try await gateway.validate(ValidateRequest(token: sibling.accessToken)).valid)
        }
    }

    @Test func revokingARefreshTokenRevokesItsSession() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let other = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let receipt = try await gateway.revoke(RevokeRequest(target: .token(login.refreshToken)))
            #expect(receipt.sessionsRevoked == 1)
            #expect(try await gateway.validate(ValidateRequest(token: login.accessToken)).reason == .revoked)
            #expect(try await gateway.validate(ValidateRequest(token: other.accessToken)).valid)
        }
    }

    @Test func revokingByTokenIDAndSessionID() async throws {
        try await TokenTestServer.with { server in
            let first = try await server.client("issuer").login("alice")
            let second = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            _ = try await gateway.revoke(RevokeRequest(target: .tokenID(first.tokenID)))
            #expect(try await gateway.validate(ValidateRequest(token: first.accessToken)).reason == .revoked)
            #expect(try await gateway.validate(ValidateRequest(token: second.accessToken)).valid)

            let bySession = try await gateway.revoke(RevokeRequest(target: .sessionID(second.sessionID)))
            #expect(bySession.sessionsRevoked == 1)
            #expect(try await gateway.validate(ValidateRequest(token: second.accessToken)).reason == .revoked)
            let refresh = await #expect(throws: RPCError.self) {
                try await gateway.refresh(RefreshRequest(refreshToken: second.refreshToken))
            }
            #expect(refresh?.code == .unauthenticated)
        }
    }

    @Test func revokingASubjectEndsEverySessionButNotLaterLogins() async throws {
        try await TokenTestServer.with { server in
            let issuer = server.client("issuer")
            let a = try await issuer.login("alice")
            let b = try await issuer.login("alice")
            let bob = try await issuer.login("bob")
            let admin = server.client("admin")
            let receipt = try await admin.revoke(RevokeRequest(target: .subject("alice"), reason: "forced logout"))
            #expect(receipt.sessionsRevoked == 2)
            #expect(try await admin.validate(ValidateRequest(token: a.accessToken)).reason == .revoked)
            #expect(try await admin.validate(ValidateRequest(token: b.accessToken)).reason == .revoked)
            #expect(try await admin.validate(ValidateRequest(token: bob.accessToken)).valid)
            #expect(try await admin.listSessions(ListSessionsRequest(subject: "alice")).sessions.isEmpty)

            server.clock.advance(by: 1)
            let fresh = try await issuer.login("alice")
            #expect(try await admin.validate(ValidateRequest(token: fresh.accessToken)).valid)
            let refreshed = try await admin.refresh(RefreshRequest(refreshToken: fresh.refreshToken))
            #expect(try await admin.validate(ValidateRequest(token: refreshed.accessToken)).valid)
        }
    }

    @Test func aLoginInTheSecondOfItsSubjectsRevocationIsAbortedAndALaterOneStands() async throws {
        try await TokenTestServer.with { server in
            let issuer = server.client("issuer")
            _ = try await server.client("admin").revoke(RevokeRequest(target: .subject("alice")))
            // Its token would carry an `iat` the revocation covers: refused rather than handed out dead.
            let aborted = await #expect(throws: RPCError.self) { try await issuer.login("alice") }
            #expect(aborted?.code == .aborted)
            #expect(try await server.client("admin").listSessions(ListSessionsRequest(subject: "alice")).sessions.isEmpty)
            server.clock.advance(by: 1)
            let later = try await issuer.login("alice")
            #expect(try await server.client("validator").validate(ValidateRequest(token: later.accessToken)).valid)
        }
    }

    @Test func revokingIsIdempotentAndUnknownTargetsAreOK() async throws {
        try await TokenTestServer.with { server in
            let login = try await server.client("issuer").login("alice")
            let gateway = server.client("gateway")
            let first = try await gateway.revoke(RevokeRequest(target: .sessionID(login.sessionID)))
            let second = try await gateway.revoke(RevokeRequest(target: .sessionID(login.sessionID)))
            #expect(first.sessionsRevoked == 1)
            #expect(second.sessionsRevoked == 0)
            #expect(second.seq > first.seq)
            let unknown = try await gateway.revoke(RevokeRequest(target: .sessionID("no-such-session")))
            #expect(unknown.sessionsRevoked == 0)
            #expect(unknown.seq > second.seq)
            let missing = await #expect(throws: RPCError.self) {
                try await gateway.revoke(RevokeRequest(target: nil))
            }
            #expect(missing?.code == .invalidArgument)
        }
    }

    @Test func listSessionsRefusesASubjectWithMoreSessionsThanItsCap() async throws {
        try await TokenTestServer.with(configure: { $0.maxListedSessions = 2 }) { server in
            let issuer = server.client("issuer")
            let admin = server.client("admin")
            let first = try await issuer.login("alice")
            _ = try await issuer.login("alice")
            #expect(try await admin.listSessions(ListSessionsRequest(subject: "alice")).sessions.count == 2)
            _ = try await issuer.login("alice")
            await #expect {
                try await admin.listSessions(ListSessionsRequest(subject: "alice"))
            } throws: { error in
                (error as? RPCError)?.code == .resourceExhausted
            }
            _ = try await admin.revoke(RevokeRequest(target: .sessionID(first.sessionID)))
            #expect(try await admin.listSessions(ListSessionsRequest(subject: "alice")).sessions.count == 2)
        }
    }

    @Test func listSessionsShowsLiveSessionsWithMetadata() async throws {
        try await TokenTestServer.with { server in
            let issuer = server.client("issuer")
            let first = try await issuer.issue(
                IssueRequest(subject: "alice", withRefreshToken: true, metadata: ["user_agent": "curl/8", "ip": "127.0.0.1"])
            )
            let second = try await issuer.login("alice")
            _ = try await issuer.login("bob")
            let admin = server.client("admin")
            let listed = try await admin.listSessions(ListSessionsRequest(subject: "alice")).sessions
            #expect(Set(listed.map(\.sessionID)) == [first.sessionID, second.sessionID])
            let withMetadata = try #require(listed.first { $0.sessionID == first.sessionID })
            #expect(withMetadata.metadata == ["user_agent": "curl/8", "ip": "127.0.0.1"])
            #expect(withMetadata.subject == "alice")
            #expect(withMetadata.expiresAt == first.refreshExpiresAt)
            _ = try await admin.revoke(RevokeRequest(target: .sessionID(first.sessionID)))
            #expect(try await admin.listSessions(ListSessionsRequest(subject: "alice")).sessions.map(\.sessionID) == [second.sessionID])
        }
    }
}
