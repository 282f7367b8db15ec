import Foundation
import Logging
import MetricsTestKit
import NIOCore
import Testing
import TokenClient
import TokenCore
import TokenGate
import TokenHTTP
import TokenRPC
import TokenTestSupport
import TokenWire

/// tokengate's routes on a real HTTP server, with a real validator following a real token service
/// on loopback: forward auth, introspection, health, metrics, and what hostile clients get.
@Suite struct GateRoutesTests {
    static let introspectionKey = "gate-introspection-key"
    static let logger = Logger(label: "gate-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A gate in front of `validator` on a free loopback port, for the duration of `body`.
    static func withGate<T>(
        _ validator: TokenValidator,
        introspectionKey: String? = GateRoutesTests.introspectionKey,
        metrics: TestMetrics? = nil,
        configure: (inout HTTPServerConfiguration) -> Void = { _ in },
        _ body: (Int) async throws -> T
    ) async throws -> T {
        var configuration = HTTPServerConfiguration(maxHeaderCount: 100, maxBodyBytes: 16_384)
        configuration.port = 0
        configure(&configuration)
        let routes = GateRoutes(
            validator: validator, introspectionKey: introspectionKey, metricsText: { "# gate metrics\n" },
            metricsFactory: metrics ?? TestMetrics())
        let server = HTTPServer(configuration: configuration, responder: routes, logger: logger)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        return try await body(try await server.listeningAddress().port)
    }

    /// `/auth` with `token` as a bearer token.
    static func auth(_ port: Int, _ token: String, query: String = "", method: String = "GET") async throws
        -> RawHTTP.Response
    {
        try await RawHTTP.exchange(
            port: port,
            "\(method) /auth\(query) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
    }

    /// `POST /introspect` with `authorization` and a form body.
    static func introspect(_ port: Int, authorization: String?, body: String, type: String? = nil) async throws
        -> RawHTTP.Response
    {
        let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
        return try await RawHTTP.exchange(
            port: port,
            "POST /introspect HTTP/1.1\r\nHost: x\r\n\(header)Content-Type: \(type ?? "application/x-www-form-urlencoded")"
                + "\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }

    static func basic(_ password: String) -> String {
        "Basic " + Data("resource-server:\(password)".utf8).base64EncodedString()
    }

    static func json(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test func aValidTokenIsAnsweredWithWhoItSpeaksFor() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(
                IssueRequest(subject: "alice", audience: ["api"], scopes: ["read", "write"]))
            let configuration = ValidatorHarness.configuration(port: server.port) { $0.audience = "api" }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                try await Self.withGate(validator) { port in
                    for method in ["GET", "POST", "DELETE"] {
                        let response = try await Self.auth(port, issued.accessToken, method: method)
                        #expect(response.status == 200, "\(method): \(response.raw)")
                        #expect(response.headers["x-auth-subject"] == "alice")
                        #expect(response.headers["x-auth-session"] == issued.sessionID)
                        #expect(response.headers["x-auth-token-id"] == issued.tokenID)
                        #expect(response.headers["x-auth-scope"] == "read write")
                        #expect(response.headers["x-auth-expires"] == "\(issued.expiresAt)")
                        #expect(response.headers["cache-control"] == "no-store")
                    }
                    let head = try await Self.auth(port, issued.accessToken, method: "HEAD")
                    #expect(head.status == 200 && head.headers["x-auth-subject"] == "alice" && head.body.isEmpty)
                }
            }
        }
    }

    @Test func refusalsFollowRFC6750() async throws {
        try await TokenTestServer.with { server in
            let client = server.client("admin")
            let issued = try await client.issue(IssueRequest(subject: "bob", audience: ["api"]))
            let configuration = ValidatorHarness.configuration(port: server.port) { $0.audience = "api" }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                try await Self.withGate(validator) { port in
                    let none = try await RawHTTP.get(port: port, "/auth")
                    #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer", "\(none.raw)")
                    let basic = try await RawHTTP.exchange(
                        port: port, "GET /auth HTTP/1.1\r\nAuthorization: Basic dTpw\r\nConnection: close\r\n\r\n")
                    #expect(basic.status == 401 && basic.headers["www-authenticate"] == "Bearer", "\(basic.raw)")
                    let malformed = try await Self.auth(port, "two words")
                    #expect(malformed.status == 401, "\(malformed.raw)")
                    #expect(malformed.headers["www-authenticate"]?.hasPrefix(#"Bearer error="invalid_request""#) == true)
                    let twice = try await RawHTTP.exchange(
                        port: port,
                        "GET /auth HTTP/1.1\r\nAuthorization: Bearer \(issued.accessToken)\r\n"
                            + "Authorization: Bearer \(issued.accessToken)\r\nConnection: close\r\n\r\n")
                    #expect(twice.status == 401 && twice.headers["x-auth-subject"] == nil, "\(twice.raw)")
                    let garbage = try await Self.auth(port, "garbage")
                    #expect(
                        garbage.headers["www-authenticate"]
                            == #"Bearer error="invalid_token", error_description="malformed""#, "\(garbage.raw)")
                    let otherAudience = try await Self.auth(port, issued.accessToken, query: "?audience=billing")
                    #expect(otherAudience.status == 401)
                    #expect(otherAudience.headers["www-authenticate"]?.contains("wrong_audience") == true)
                    #expect(try await Self.auth(port, issued.accessToken, query: "?audience=api").status == 200)
                    for query in ["?audience=api&audience=billing", "?audience=", "?audience=%zz"] {
                        let response = try await Self.auth(port, issued.accessToken, query: query)
                        #expect(response.status == 400, "\(query): \(response.raw)")
                    }

                    let seq = try await client.revoke(RevokeRequest(target: .token(issued.accessToken))).seq
                    try await validator.waitUntilApplied(seq: seq)
                    let revoked = try await Self.auth(port, issued.accessToken)
                    #expect(revoked.status == 401 && revoked.headers["x-auth-subject"] == nil)
                    #expect(
                        revoked.headers["www-authenticate"]
                            == #"Bearer error="invalid_token", error_description="revoked""#, "\(revoked.raw)")
                }
            }
        }
    }

    @Test func claimsCannotAddHeaders() async throws {
        try await TokenTestServer.with { server in
            let subject = "José\r\nX-Auth-Scope: admin %41 "
            let issued = try await server.client("issuer").issue(IssueRequest(subject: subject, scopes: ["a%b"]))
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                try await Self.withGate(validator) { port in
                    let response = try await Self.auth(port, issued.accessToken)
                    #expect(response.status == 200, "\(response.raw)")
                    #expect(response.headers["x-auth-subject"] == "Jos%C3%A9%0D%0AX-Auth-Scope: admin %2541%20")
                    #expect(response.headers["x-auth-scope"] == "a%25b")
                    #expect(response.raw.components(separatedBy: "X-Auth-Scope").count == 2, "\(response.raw)")
                }
            }
        }
    }

    @Test func anUnknownRevocationStateIs503UnderFailClosedAndNeverValid() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "carol"))
            let proxy = try await TCPProxy(upstreamPort: server.port)
            let configuration = ValidatorHarness.configuration(port: proxy.port, staleAfter: .seconds(1)) {
                $0.fallbackTimeout = .milliseconds(200)
            }
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                try await Self.withGate(validator) { port in
                    #expect(try await Self.auth(port, issued.accessToken).status == 200)
                    proxy.partition()
                    try await within(.seconds(10), "the mirror to turn stale") {
                        try await validator.waitUntil { !$0.mirrorFresh }
                    }
                    let unknown = try await Self.auth(port, issued.accessToken)
                    #expect(unknown.status == 503 && unknown.headers["retry-after"] == "1", "\(unknown.raw)")
                    #expect(unknown.headers["x-auth-subject"] == nil)
                    let health = try await RawHTTP.get(port: port, "/healthz")
                    #expect(health.status == 503)
                    #expect(try Self.json(health.body)["mirror_fresh"] as? Bool == false)
                    let introspection = try await Self.introspect(
                        port, authorization: Self.basic(Self.introspectionKey), body: "token=\(issued.accessToken)")
                    #expect(introspection.status == 503 && introspection.headers["retry-after"] == "1")
                    #expect(try Self.json(introspection.body)["error"] as? String == "temporarily_unavailable")
                }
            }
            await proxy.close()
        }
    }

    @Test func aValidatorWithoutKeysAnswers503() async throws {
        let refusing = try RefusingPort()
        defer { refusing.release() }
        var configuration = TokenValidatorConfiguration(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: refusing.port)], credential: "validator",
            issuer: "https://tokens.test")
        configuration.policy = .failOpen
        configuration.fallbackTimeout = .milliseconds(200)
        let validator = TokenValidator(configuration: configuration)
        let token = try TokenMinter().mint(
            claims: Claims(
                issuer: "https://tokens.test", subject: "dave", audience: [], scopes: [], tokenID: "t", sessionID: "",
                issuedAt: 1_800_000_000, expiresAt: 1_800_000_900, notBefore: 1_800_000_000),
            key: try SigningKey.generate(.edDSA), keyID: "k1")
        try await Self.withGate(validator) { port in
            let response = try await Self.auth(port, token)
            #expect(response.status == 503 && response.headers["x-auth-subject"] == nil, "\(response.raw)")
            let health = try await RawHTTP.get(port: port, "/healthz")
            #expect(health.status == 503)
            #expect(try Self.json(health.body)["keys_loaded"] as? Bool == false)
        }
    }

    @Test func introspectionFollowsRFC7662() async throws {
        try await TokenTestServer.with { server in
            let client = server.client("admin")
            let issued = try await client.issue(IssueRequest(subject: "erin", audience: ["api", "web"], scopes: ["read"]))
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                try await Self.withGate(validator) { port in
                    let body = "token=\(issued.accessToken)&token_type_hint=access_token"
                    let active = try await Self.introspect(port, authorization: Self.basic(Self.introspectionKey), body: body)
                    #expect(active.status == 200 && active.headers["cache-control"] == "no-store", "\(active.raw)")
                    let claims = try Self.json(active.body)
                    #expect(claims["active"] as? Bool == true)
                    #expect(claims["sub"] as? String == "erin" && claims["scope"] as? String == "read")
                    #expect(claims["aud"] as? [String] == ["api", "web"])
                    #expect(claims["iss"] as? String == "https://tokens.test")
                    #expect(claims["jti"] as? String == issued.tokenID && claims["sid"] as? String == issued.sessionID)
                    #expect((claims["exp"] as? NSNumber)?.int64Value == issued.expiresAt)
                    #expect(claims["token_type"] as? String == "Bearer")
                    #expect(claims["iat"] != nil && claims["nbf"] != nil)
                    let bearer = try await Self.introspect(port, authorization: "Bearer \(Self.introspectionKey)", body: body)
                    #expect(try Self.json(bearer.body)["active"] as? Bool == true)

                    for authorization in [nil, Self.basic("wrong"), Self.basic(Self.introspectionKey + "x")] {
                        let refused = try await Self.introspect(port, authorization: authorization, body: body)
                        #expect(refused.status == 401, "\(refused.raw)")
                        #expect(refused.headers["www-authenticate"]?.hasPrefix("Basic realm=") == true)
                        #expect(try Self.json(refused.body)["error"] as? String == "invalid_client")
                        #expect(!refused.body.contains("erin"))
                    }
                    let wrongBearer = try await Self.introspect(port, authorization: "Bearer wrong", body: body)
                    #expect(wrongBearer.status == 401)
                    #expect(wrongBearer.headers["www-authenticate"]?.hasPrefix(#"Bearer error="invalid_token""#) == true)

                    let key = Self.basic(Self.introspectionKey)
                    for bad in ["", "token=", "token=a&token=b", "token=%zz", "hint=x"] {
                        let response = try await Self.introspect(port, authorization: key, body: bad)
                        #expect(response.status == 400, "\(bad): \(response.raw)")
                        #expect(try Self.json(response.body)["error"] as? String == "invalid_request")
                    }
                    let json = try await Self.introspect(port, authorization: key, body: body, type: "application/json")
                    #expect(json.status == 400)
                    let get = try await RawHTTP.get(port: port, "/introspect")
                    #expect(get.status == 405 && get.headers["allow"] == "POST")

                    for inactive in ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
                        let response = try await Self.introspect(port, authorization: key, body: "token=\(inactive)")
                        #expect(response.status == 200 && response.body == #"{"active":false}"#, "\(response.raw)")
                    }
                    let seq = try await client.revoke(RevokeRequest(target: .token(issued.accessToken))).seq
                    try await validator.waitUntilApplied(seq: seq)
                    let revoked = try await Self.introspect(port, authorization: key, body: body)
                    #expect(revoked.body == #"{"active":false}"#, "\(revoked.raw)")
                }
                // Without a key the route is not served.
                try await Self.withGate(validator, introspectionKey: nil) { port in
                    let response = try await Self.introspect(port, authorization: "Bearer x", body: "token=x")
                    #expect(response.status == 404)
                }
            }
        }
    }

    @Test func healthMetricsAndUnknownPaths() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "frank"))
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                let metrics = TestMetrics()
                try await Self.withGate(validator, metrics: metrics) { port in
                    let health = try await RawHTTP.get(port: port, "/healthz")
                    #expect(health.status == 200 && health.headers["content-type"] == "application/json")
                    #expect(try Self.json(health.body)["ready"] as? Bool == true)
                    let text = try await RawHTTP.get(port: port, "/metrics")
                    #expect(text.status == 200 && text.body == "# gate metrics\n")
                    #expect(try await RawHTTP.get(port: port, "/").status == 404)
                    #expect(try await RawHTTP.get(port: port, "/auth/../healthz").status == 404)
                    let post = try await RawHTTP.exchange(
                        port: port, "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    #expect(post.status == 405)
                    for _ in 0..<3 { _ = try await Self.auth(port, issued.accessToken) }
                    _ = try await Self.auth(port, "garbage")

                    func count(_ route: String, _ outcome: String) throws -> Int64 {
                        let counter = try metrics.expectCounter(
                            "token_gate_requests_total", [("route", route), ("outcome", outcome)])
                        return counter.totalValue
                    }
                    #expect(try count("auth", "valid") == 3)
                    #expect(try count("auth", "invalid") == 1)
                    #expect(try count("healthz", "ready") == 1)
                    #expect(try count("other", "not_found") == 2)
                    #expect(try count("other", "method_not_allowed") == 1)
                    let timer = try metrics.expectTimer(
                        "token_gate_request_duration_seconds", [("route", "auth"), ("outcome", "valid")])
                    #expect(timer.values.count == 3 && timer.values.allSatisfy { $0 > 0 })
                }
            }
        }
    }

    @Test func oversizedAndSlowRequestsAreRefusedWithoutHarmingOthers() async throws {
        try await TokenTestServer.with { server in
            let issued = try await server.client("issuer").issue(IssueRequest(subject: "grace"))
            let configuration = ValidatorHarness.configuration(port: server.port)
            try await ValidatorHarness.run(configuration, clock: server.clock) { validator in
                // Short, for the slow client below, yet longer than the stalls of a loaded machine in
                // the middle of a request and than the flood's 1 s stall detection.
                try await Self.withGate(validator, configure: { $0.readTimeout = .seconds(3) }) { port in
                    let fields = (0..<101).map { "X-F\($0): v\r\n" }.joined()
                    let many = try await RawHTTP.exchange(port: port, "GET /auth HTTP/1.1\r\n\(fields)\r\n")
                    #expect(many.status == 431 && many.headers["connection"] == "close")
                    let huge = String(repeating: "h", count: 90_000)
                    let large = try await RawHTTP.exchange(port: port, "GET /auth HTTP/1.1\r\nX-Big: \(huge)\r\n\r\n")
                    #expect(large.status == 431, "\(large.raw.prefix(200))")
                    let body = String(repeating: "b", count: 16_385)
                    let tooLarge = try await Self.introspect(
                        port, authorization: Self.basic(Self.introspectionKey), body: "token=" + body)
                    #expect(tooLarge.status == 413)
                    // A client that never finishes its request is closed without an answer.
                    let slow = try await RawHTTP.exchange(port: port, "GET /auth HTTP/1.1\r\nAuthorization: Bear")
                    #expect(slow.raw.isEmpty)
                    // A client that sends requests and reads no answer stops being read; others are served.
                    let request = ByteBuffer(
                        string: "GET /auth HTTP/1.1\r\nAuthorization: Bearer \(issued.accessToken)\r\n\r\n")
                    let flood = try await FloodingClient.start(port: port) { _ in request }
                    let outcome = try await flood.result()
                    #expect(outcome.stalled, "the gate kept reading: \(outcome)")
                    #expect(outcome.bytesAccepted < 48 << 20, "\(outcome)")
                    #expect(try await Self.auth(port, issued.accessToken).status == 200)
                    await flood.close()
                }
            }
        }
    }
}
