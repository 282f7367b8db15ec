import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TokenHTTP
import TokenServer
import TokenTestSupport

/// The HTTP port on loopback, spoken to with raw bytes so the tests can send what clients must not.
@Suite struct HTTPServerTests {
    static let jwks = #"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"AAAA"}]}"#

    /// A server whose readiness is `ready` (nil: ready, else the reason) and whose metrics are fixed.
    static func start(
        _ configuration: HTTPServerConfiguration = .init(),
        readiness: @escaping @Sendable () async -> String? = { nil },
        metrics: (@Sendable () -> String)? = { "# TYPE up gauge\nup 1\n" }
    ) async throws -> (HTTPServer, Task<Void, any Error>, Int) {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        let routes = HTTPRoutes(keySet: { (Self.jwks, 300) }, readiness: readiness, metrics: metrics)
        let server = HTTPServer(
            configuration: configuration,
            responder: routes,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let task = Task { try await server.run() }
        let port = try await server.listeningAddress().port
        return (server, task, port)
    }

    @Test func theKeySetIsServedWithItsCacheAgeAndATagThatAnswers304() async throws {
        let (_, task, port) = try await Self.start()
        defer { task.cancel() }
        let response = try await RawHTTP.exchange(
            port: port,
            "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        #expect(response.status == 200)
        #expect(response.body == Self.jwks)
        #expect(response.headers["cache-control"] == "public, max-age=300")
        #expect(response.headers["content-type"] == "application/json")
        let tag = try #require(response.headers["etag"])
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count == 34)

        let again = try await RawHTTP.exchange(
            port: port,
            "GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\", W/\(tag)\r\n"
                + "Connection: close\r\n\r\n"
        )
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
        #expect(again.headers["etag"] == tag)

        let changed = try await RawHTTP.exchange(
            port: port,
            "GET /.well-known/jwks.json?x=1 HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n"
                + "Connection: close\r\n\r\n"
        )
        #expect(changed.status == 200)
        #expect(changed.body == Self.jwks)
    }

    @Test func probesAndMetrics() async throws {
        let (_, task, port) = try await Self.start()
        defer { task.cancel() }
        let health = try await RawHTTP.get(port: port, "/healthz")
        #expect(health.status == 200)
        #expect(health.body == "ok\n")
        let ready = try await RawHTTP.get(port: port, "/readyz")
        #expect(ready.status == 200)
        let metrics = try await RawHTTP.get(port: port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4")
        #expect(metrics.body == "# TYPE up gauge\nup 1\n")
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let (_, task, port) = try await Self.start()
        defer { task.cancel() }
        // The readiness answer comes from a task; the next answer still waits for it.
        let response = try await RawHTTP.exchange(
            port: port,
            "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        // Each answer starts with its status line (a body ends without a line break).
        let statuses = response.raw.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(statuses == ["200", "200", "404"], "\(response.raw)")
        let ready = try #require(response.raw.range(of: "ready\n"))
        let ok = try #require(response.raw.range(of: "ok\n"))
        #expect(ready.lowerBound < ok.lowerBound)
    }

    @Test func headAnswersTheHeadersOfGetWithoutTheBody() async throws {
        let (_, task, port) = try await Self.start()
        defer { task.cancel() }
        // Pipelined: were a body sent, the second answer would not start where the first ends.
        let response = try await RawHTTP.exchange(
            port: port,
            "HEAD /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        #expect(response.status == 200)
        #expect(response.headers["content-length"] == "\(Self.jwks.utf8.count)")
        #expect(response.headers["etag"] != nil)
        #expect(response.body.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.body.hasSuffix("\r\n\r\nok\n"))
    }

    @Test func notReadyIs503WithTheReason() async throws {
        let (_, task, port) = try await Self.start(readiness: { "store unreachable" })
        defer { task.cancel() }
        let ready = try await RawHTTP.get(port: port, "/readyz")
        #expect(ready.status == 503)
        #expect(ready.body == "not ready: store unreachable\n")
        // Liveness does not depend on readiness.
        #expect(try await RawHTTP.get(port: port, "/healthz").status == 200)
    }

    @Test func otherPathsAre404AndOtherMethods405() async throws {
        let (_, task, port) = try await Self.start(metrics: nil)
        defer { task.cancel() }
        #expect(try await RawHTTP.get(port: port, "/").status == 404)
        #expect(try await RawHTTP.get(port: port, "/.well-known/jwks.json/../../etc/passwd").status == 404)
        #expect(try await RawHTTP.get(port: port, "/metrics").status == 404)
        let post = try await RawHTTP.exchange(
            port: port,
            "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        )
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
        let delete = try await RawHTTP.exchange(
            port: port,
            "DELETE /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        #expect(delete.status == 405)
    }

    @Test func oversizedRequestsAreRefusedAndClosed() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxHeaderCount = 8
        configuration.maxBodyBytes = 16
        let (_, task, port) = try await Self.start(configuration)
        defer { task.cancel() }
        let headers = (0..<9).map { "X-H\($0): v\r\n" }.joined()
        // No "Connection: close": the server closes on its own after refusing.
        let tooMany = try await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
        #expect(tooMany.status == 431)
        #expect(tooMany.headers["connection"] == "close")
        let body = String(repeating: "b", count: 17)
        let tooLarge = try await RawHTTP.exchange(
            port: port,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n\(body)"
        )
        #expect(tooLarge.status == 413)
        let garbage = try await RawHTTP.exchange(port: port, "\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n")
        #expect(garbage.status == 400)
        // Still serving.
        #expect(try await RawHTTP.get(port: port, "/healthz").status == 200)
    }

    @Test func anIncompleteRequestIsClosedAfterTheReadTimeout() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.readTimeout = .milliseconds(100)
        let (_, task, port) = try await Self.start(configuration)
        defer { task.cancel() }
        // The head never ends: the server closes without an answer.
        let response = try await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
        #expect(response.raw.isEmpty)
    }

    @Test func anIdleConnectionIsClosed() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.idleTimeout = .milliseconds(100)
        let (_, task, port) = try await Self.start(configuration)
        defer { task.cancel() }
        // A connection that never sends a byte: the server closes it without a word.
        let connection = try await RawHTTP.open(port: port)
        let received = try await connection.collector.closed.futureResult.get()
        #expect(received.isEmpty)
    }

    @Test func connectionsOverTheLimitAreClosed() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxConnections = 1
        let (_, task, port) = try await Self.start(configuration)
        defer { task.cancel() }
        // The first connection holds the only slot (it has answered one request and stays open).
        let holder = try await RawHTTP.open(port: port)
        try await holder.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try await holder.waitForBytes()
        let refused = try await RawHTTP.exchange(
            port: port,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        #expect(refused.raw.isEmpty)
        try await holder.close()
    }
}

/// The routes a `TokenService` gives the HTTP port.
@Suite struct TokenServiceHTTPRoutesTests {
    @Test func theKeySetIsGetKeysAndReadinessFollowsTheStore() async throws {
        try await TokenTestServer.with { server in
            let routes = server.service.httpRoutes(readinessTimeout: .seconds(30))
            let keys = try await server.client("").getKeys()
            let (json, maxAge) = routes.keySet()
            #expect(json == keys.jwksJSON)
            #expect(maxAge == keys.cacheMaxAgeSeconds)
            #expect(await routes.readiness() == nil)
            // A store that stops answering makes the service not ready.
            await server.store.close()
            #expect(await routes.readiness() == "store unreachable")
        }
    }
}
