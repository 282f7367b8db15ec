import Testing
import TokenClient
import TokenRPC
import TokenWire

@Suite struct IssueValidateTests {
    @Test func issuedTokenValidatesWithItsClaims() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(
                IssueRequest(subject: "alice", audience: ["api"], scopes: ["read", "write"], extraClaimsJSON: #"{"tenant":"acme"}"#)
            )
            #expect(issued.refreshToken.isEmpty)
            #expect(issued.tokenID.count == 22)
            #expect(issued.expiresAt == server.clock.now() + 900)
            let answer = try await server.client("validator").validate(ValidateRequest(token: issued.accessToken, audience: "api"))
            #expect(answer.valid)
            #expect(answer.reason == .unspecified)
            let claims = try #require(answer.claims)
            #expect(claims.subject == "alice")
            #expect(claims.issuer == "https://tokens.test")
            #expect(claims.audience == ["api"])
            #expect(claims.scopes == ["read", "write"])
            #expect(claims.tokenID == issued.tokenID)
            #expect(claims.sessionID == issued.sessionID)
            #expect(claims.extraClaimsJSON == #"{"tenant":"acme"}"#)
        }
    }

    @Test func invalidTokensAreAnsweredWithOKAndAReason() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "alice", audience: ["api"]))
            let validator = server.client("validator")

            let garbage = try await validator.validate(ValidateRequest(token: "not.a.token"))
            #expect(!garbage.valid)
            #expect(garbage.reason == .malformed)

            var tampered = Array(issued.accessToken.utf8)
            let last = tampered.count - 3
            tampered[last] = tampered[last] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let badSignature = try await validator.validate(ValidateRequest(token: String(decoding: tampered, as: UTF8.self)))
            #expect(badSignature.reason == .badSignature)

            let wrongAudience = try await validator.validate(ValidateRequest(token: issued.accessToken, audience: "billing"))
            #expect(!wrongAudience.valid)
            #expect(wrongAudience.reason == .wrongAudience)
            #expect(wrongAudience.claims?.subject == "alice")

            server.clock.advance(by: 900 + 31)
            let expired = try await validator.validate(ValidateRequest(token: issued.accessToken))
            #expect(expired.reason == .expired)
            #expect(expired.claims?.tokenID == issued.tokenID)
        }
    }

    @Test func issueRejectsBadRequests() async throws {
        try await TokenTestServer.with { server in
            let issuer = server.client("issuer")
            let emptySubject = await #expect(throws: RPCError.self) {
                try await issuer.issue(IssueRequest(subject: ""))
            }
            #expect(emptySubject?.code == .invalidArgument)
            for claim in ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "scope"] {
                let registered = await #expect(throws: RPCError.self) {
                    try await issuer.issue(IssueRequest(subject: "alice", extraClaimsJSON: "{\"\(claim)\": 1}"))
                }
                #expect(registered?.code == .invalidArgument, "claim \(claim)")
            }
            let notObject = await #expect(throws: RPCError.self) {
                try await issuer.issue(IssueRequest(subject: "alice", extraClaimsJSON: "[1,2]"))
            }
            #expect(notObject?.code == .invalidArgument)
        }
    }

    @Test func aStoreThatCannotWriteIsUnavailableAndValidateGoesOn() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "alice"))
            await server.store.close()
            let issue = await #expect(throws: RPCError.self) {
                try await server.client("issuer").issue(IssueRequest(subject: "bob"))
            }
            #expect(issue?.code == .unavailable)
            let revoke = await #expect(throws: RPCError.self) {
                try await server.client("admin").revoke(RevokeRequest(target: .tokenID(issued.tokenID)))
            }
            #expect(revoke?.code == .unavailable)
            // Validate reads memory only: the unrevoked token stays valid.
            #expect(try await server.client("validator").validate(ValidateRequest(token: issued.accessToken)).valid)
        }
    }

    @Test func accessLifetimeIsCappedAtTheConfiguredTTL() async throws {
        try await TokenTestServer.with { server in
            let issuer = server.client("issuer")
            let long = try await issuer.issue(IssueRequest(subject: "alice", accessTTLSeconds: 100_000))
            #expect(long.expiresAt == server.clock.now() + 900)
            let short = try await issuer.issue(IssueRequest(subject: "alice", accessTTLSeconds: 60))
            #expect(short.expiresAt == server.clock.now() + 60)
        }
    }

    @Test func rolesAreEnforced() async throws {
        try await TokenTestServer.with { server in
            let denied = await #expect(throws: RPCError.self) {
                try await server.client("validator").issue(IssueRequest(subject: "alice"))
            }
            #expect(denied?.code == .permissionDenied)
            let anonymous = await #expect(throws: RPCError.self) {
                try await server.client("").validate(ValidateRequest(token: "x"))
            }
            #expect(anonymous?.code == .unauthenticated)
            let unknown = await #expect(throws: RPCError.self) {
                try await server.client("wrong-key").validate(ValidateRequest(token: "x"))
            }
            #expect(unknown?.code == .unauthenticated)
            let subjectByGateway = await #expect(throws: RPCError.self) {
                try await server.client("gateway").revoke(RevokeRequest(target: .subject("alice")))
            }
            #expect(subjectByGateway?.code == .permissionDenied)
            let sessionsByGateway = await #expect(throws: RPCError.self) {
                try await server.client("gateway").listSessions(ListSessionsRequest(subject: "alice"))
            }
            #expect(sessionsByGateway?.code == .permissionDenied)
            let rotateByNobody = await #expect(throws: RPCError.self) {
                try await server.client("nobody").rotateKeys()
            }
            #expect(rotateByNobody?.code == .permissionDenied)
            // Open methods need no credential; admin may call anything.
            #expect(try await server.client("").health().serving)
            #expect(try await server.client("").getKeys().keys.count == 2)
            _ = try await server.client("admin").issue(IssueRequest(subject: "alice"))
        }
    }

    @Test func healthReportsTheEmbeddedStore() async throws {
        try await TokenTestServer.with { server in
            let health = try await server.client("").health()
            #expect(health.serving)
            #expect(health.store == "embedded")
            #expect(!health.version.isEmpty)
        }
    }
}
