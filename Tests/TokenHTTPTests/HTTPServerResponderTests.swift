import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing
import TokenHTTP
import TokenTestSupport

/// The HTTP server with a responder of the test's own, on loopback: what reaches the responder,
/// back-pressure and graceful shutdown.
@Suite struct HTTPServerResponderTests {
    /// Answers `METHOD PATH QUERY BODY`; `/big` answers 4 KiB; `/slow` waits until `release` opens.
    struct EchoResponder: HTTPResponder {
        let slowStarted = Latch()
        let release = Latch()

        func respond(to request: HTTPRequest) async -> HTTPResponse {
            switch request.path {
            case "/big":
                return HTTPResponse(status: .ok, body: String(repeating: "b", count: 4_096))
            case "/slow":
                slowStarted.open()
                await release.wait()
                return HTTPResponse(status: .ok, body: "slow\n")
            default:
                let body = String(buffer: request.body)
                return HTTPResponse(
                    status: .ok,
                    headers: ["content-type": "text/plain"],
                    body: "\(request.method) \(request.path) \(request.query ?? "-") \(body)"
                )
            }
        }
    }

    /// A one-shot gate tasks wait on.
    final class Latch: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        }

        func wait() async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if ready { continuation.resume() }
            }
        }
    }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func server(
        _ configuration: HTTPServerConfiguration = .init(),
        responder: EchoResponder = EchoResponder()
    ) -> HTTPServer {
        var configuration = configuration
        configuration.host = "127.0.0.1"
        configuration.port = 0
        return HTTPServer(configuration: configuration, responder: responder, logger: logger)
    }

    @Test func theResponderGetsTheMethodPathQueryAndBodyWithinTheLimit() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.maxBodyBytes = 16
        let server = Self.server(configuration)
        let running = Task { try await server.run() }
        let port = try await server.listeningAddress().port
        let form = try await RawHTTP.exchange(
            port: port,
            "POST /introspect?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: 16\r\nConnection: close\r\n\r\ntoken=abc&hint=a"
        )
        #expect(form.status == 200)
        #expect(form.body == "POST /introspect x=1 token=abc&hint=a")
        // A chunked body arrives whole.
        let chunked = try await RawHTTP.exchange(
            port: port,
            "POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n"
        )
        #expect(chunked.body == "POST /form - a=1&b=2")
        // One byte over the limit is refused and the connection closed.
        let over = try await RawHTTP.exchange(
            port: port,
            "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n" + String(repeating: "o", count: 17)
        )
        #expect(over.status == 413)
        #expect(over.headers["connection"] == "close")
        running.cancel()
        try await running.value
    }

    @Test func aClientThatNeverReadsIsNoLongerReadWhileOthersAreServed() async throws {
        let server = Self.server()
        let running = Task { try await server.run() }
        let port = try await server.listeningAddress().port
        let request = ByteBuffer(string: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        let flood = try await FloodingClient.start(port: port) { _ in request }
        let outcome = try await flood.result()
        #expect(outcome.stalled, "the server kept reading: \(outcome)")
        #expect(outcome.bytesAccepted < 48 << 20, "\(outcome)")
        let other = try await RawHTTP.get(port: port, "/other")
        #expect(other.body == "GET /other - ")
        await flood.close()
        running.cancel()
        try await running.value
    }

    @Test func gracefulShutdownClosesIdleConnectionsAndFinishesTheAnswerInProgress() async throws {
        let responder = EchoResponder()
        let server = Self.server(responder: responder)
        let group = ServiceGroup(services: [server], logger: Self.logger)
        let running = Task { try await group.run() }
        let port = try await server.listeningAddress().port
        // A keep-alive connection between requests.
        let idle = try await RawHTTP.open(port: port)
        try await idle.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        try await idle.waitForBytes()
        // A request being answered.
        let busy = try await RawHTTP.open(port: port)
        try await busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await responder.slowStarted.wait()

        await group.triggerGracefulShutdown()
        let idleReceived = try await idle.collector.closed.futureResult.get()
        #expect(RawHTTP.Response(raw: idleReceived).body == "GET /first - ")
        responder.release.open()
        let busyReceived = RawHTTP.Response(raw: try await busy.collector.closed.futureResult.get())
        #expect(busyReceived.status == 200)
        #expect(busyReceived.body == "slow\n")
        #expect(busyReceived.headers["connection"] == "close", "\(busyReceived.raw)")
        try await running.value
    }
}
