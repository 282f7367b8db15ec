import Foundation
import Logging
import Testing
import TokenClient
import TokenHTTP
import TokenRPC
import TokenServer
import TokenTestSupport
import TokenWire

/// tokend's OAuth endpoints on its HTTP port: RFC 7009 revocation, RFC 7662 introspection and the
/// RFC 8414 metadata, on a real service and HTTP server.
@Suite struct OAuthRoutesTests {
    /// The service's HTTP routes, with the OAuth endpoints for the test callers, on a free port.
    static func withPort<T>(_ server: TokenTestServer, _ body: (Int) async throws -> T) async throws -> T {
        var configuration = HTTPServerConfiguration(maxBodyBytes: 16_384)
        configuration.port = 0
        let http = HTTPServer(
            configuration: configuration, responder: server.service.httpRoutes(callers: TokenTestServer.registry),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await http.run() }
        defer { task.cancel() }
        return try await body(try await http.listeningAddress().port)
    }

    /// `POST path` with the caller's API key (Basic password, or bearer) and a form body.
    static func post(
        _ port: Int, _ path: String, caller: String?, bearer: Bool = false, body: String
    ) async throws -> RawHTTP.Response {
        var authorization = ""
        if let caller {
            let credential = bearer ? "Bearer \(caller)" : "Basic " + Data("client:\(caller)".utf8).base64EncodedString()
            authorization = "Authorization: \(credential)\r\n"
        }
        return try await RawHTTP.exchange(
            port: port,
            "POST \(path) HTTP/1.1\r\nHost: x\r\n\(authorization)Content-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    static func json(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func revocationIsRevokesEventAndAlways200ForWhatItCannotIdentify() async throws {
        try await TokenTestServer.with { server in
            let admin = server.client("admin")
            let access = try await admin.login("alice")
            let refresh = try await admin.login("bob")
            try await ValidatorHarness.run(ValidatorHarness.configuration(port: server.port), clock: server.clock) {
                validator in
                try await Self.withPort(server) { port in
                    let before = validator.state.appliedSeq
                    let revoked = try await Self.post(
                        port, "/oauth2/revoke", caller: "gateway",
                        body: "token=\(access.accessToken)&token_type_hint=access_token")
                    #expect(revoked.status == 200 && revoked.body.isEmpty, "\(revoked.raw)")
                    #expect(revoked.headers["cache-control"] == "no-store")
                    // One event on the stream, which the validator applies: the token is refused there.
                    try await within(.seconds(10), "the revocation on the stream") {
                        try await validator.waitUntil { $0.appliedSeq == before + 1 }
                    }
                    #expect(await validator.verify(access.accessToken).outcome == .invalid(.revoked))
                    let validated = try await server.client("validator").validate(
                        ValidateRequest(token: access.accessToken))
                    #expect(!validated.valid && validated.reason == .revoked)

                    // A refresh token ends its session, whatever the hint says.
                    let session = try await Self.post(
                        port, "/oauth2/revoke", caller: "admin", bearer: true,
                        body: "token=\(refresh.refreshToken)&token_type_hint=access_token")
                    #expect(session.status == 200)
                    await #expect(throws: RPCError.self) { try await admin.refresh(refresh.refreshToken) }
                    try await within(.seconds(10), "the session's revocation on the stream") {
                        try await validator.waitUntil { $0.appliedSeq == before + 2 }
                    }
                    #expect(await validator.verify(refresh.accessToken).outcome == .invalid(.revoked))

                    // Unknown and already revoked tokens: 200.
                    for token in ["not-a-token", access.accessToken] {
                        let again = try await Self.post(port, "/oauth2/revoke", caller: "gateway", body: "token=\(token)")
                        #expect(again.status == 200, "\(again.raw)")
                    }
                    #expect(try await admin.validate(ValidateRequest(token: refresh.accessToken)).reason == .revoked)
                }
            }
        }
    }

    @Test func callersNeedTheirRole() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("admin").login("carol")
            try await Self.withPort(server) { port in
                let body = "token=\(issued.accessToken)"
                for (caller, path) in [("validator", "/oauth2/revoke"), ("nobody", "/oauth2/revoke"),
                                       ("issuer", "/oauth2/introspect")] {
                    let response = try await Self.post(port, path, caller: caller, body: body)
                    #expect(response.status == 403, "\(caller) \(path): \(response.raw)")
                    #expect(try Self.json(response.body)["error"] as? String == "unauthorized_client")
                }
                for caller in [nil, "wrong-key"] {
                    let response = try await Self.post(port, "/oauth2/revoke", caller: caller, body: body)
                    #expect(response.status == 401 && response.headers["www-authenticate"]?.hasPrefix("Basic") == true)
                    #expect(try Self.json(response.body)["error"] as? String == "invalid_client")
                }
                let bearer = try await Self.post(port, "/oauth2/introspect", caller: "wrong", bearer: true, body: body)
                #expect(bearer.status == 401 && bearer.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect(try await server.client("validator").validate(ValidateRequest(token: issued.accessToken)).valid)
                let get = try await RawHTTP.get(port: port, "/oauth2/revoke")
                #expect(get.status == 405 && get.headers["allow"] == "POST")
                let missing = try await Self.post(port, "/oauth2/revoke", caller: "gateway", body: "token_type_hint=x")
                #expect(missing.status == 400)
                #expect(try Self.json(missing.body)["error"] as? String == "invalid_request")
            }
        }
    }

    @Test func introspectionAnswersAsValidate() async throws {
        try await TokenTestServer.with { server in
            let admin = server.client("admin")
            let issued = try await admin.login("dave", audience: ["api"])
            try await Self.withPort(server) { port in
                let active = try await Self.post(
                    port, "/oauth2/introspect", caller: "validator", body: "token=\(issued.accessToken)")
                #expect(active.status == 200 && active.headers["content-type"] == "application/json", "\(active.raw)")
                let claims = try Self.json(active.body)
                #expect(claims["active"] as? Bool == true && claims["sub"] as? String == "dave")
                #expect(claims["aud"] as? String == "api" && claims["scope"] as? String == "read")
                #expect(claims["jti"] as? String == issued.tokenID && claims["sid"] as? String == issued.sessionID)
                #expect(claims["iss"] as? String == "https://tokens.test" && claims["token_type"] as? String == "Bearer")
                _ = try await admin.revoke(RevokeRequest(target: .sessionID(issued.sessionID)))
                for token in [issued.accessToken, issued.refreshToken, "garbage"] {
                    let inactive = try await Self.post(port, "/oauth2/introspect", caller: "validator", body: "token=\(token)")
                    #expect(inactive.status == 200 && inactive.body == #"{"active":false}"#, "\(inactive.raw)")
                }
            }
        }
    }

    @Test func aStoreOutageIs503() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("admin").login("erin")
            try await Self.withPort(server) { port in
                await server.store.close()
                let response = try await Self.post(
                    port, "/oauth2/revoke", caller: "gateway", body: "token=\(issued.refreshToken)")
                #expect(response.status == 503 && response.headers["retry-after"] == "1", "\(response.raw)")
                #expect(try Self.json(response.body)["error"] as? String == "temporarily_unavailable")
            }
        }
    }

    @Test func theMetadataNamesTheEndpointsUnderTheIssuer() async throws {
        try await TokenTestServer.with { server in
            try await Self.withPort(server) { port in
                let response = try await RawHTTP.get(port: port, "/.well-known/oauth-authorization-server")
                #expect(response.status == 200 && response.headers["content-type"] == "application/json")
                let document = try Self.json(response.body)
                #expect(document["issuer"] as? String == "https://tokens.test")
                #expect(document["jwks_uri"] as? String == "https://tokens.test/.well-known/jwks.json")
                #expect(document["revocation_endpoint"] as? String == "https://tokens.test/oauth2/revoke")
                #expect(document["introspection_endpoint"] as? String == "https://tokens.test/oauth2/introspect")
                #expect(document["revocation_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic"])
                let post = try await RawHTTP.exchange(
                    port: port,
                    "POST /.well-known/oauth-authorization-server HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                #expect(post.status == 405)
            }
        }
        #expect(OAuthMetadata(issuer: "tokend") == nil)
        #expect(OAuthMetadata(issuer: "https://x.test/?a=1") == nil)
        let tenant = try #require(OAuthMetadata(issuer: "https://x.test/tenant"))
        #expect(tenant.paths == ["/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/tenant"])
        #expect(tenant.json.contains(#""revocation_endpoint":"https://x.test/tenant/oauth2/revoke""#))
    }
}
