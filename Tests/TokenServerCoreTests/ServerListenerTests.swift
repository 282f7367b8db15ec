import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import TokenServerCore
import TokenTestSupport

/// The listener both servers share, with a connection handler that echoes what it reads.
@Suite struct ServerListenerTests {
    /// Echoes every read back. A connection that `honoursDrain` closes on graceful shutdown; the
    /// others go on until the drain timeout closes them.
    struct EchoHandler: ServerConnectionHandler {
        let honoursDrain: Bool

        func setUp(channel: any Channel) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
            try NIOAsyncChannel(wrappingChannelSynchronously: channel)
        }

        func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
            let channel = connection.channel
            let honoursDrain = self.honoursDrain
            try? await connection.executeThenClose { inbound, outbound in
                try await withGracefulShutdownHandler {
                    for try await bytes in inbound {
                        try await outbound.write(bytes)
                    }
                } onGracefulShutdown: {
                    if honoursDrain {
                        channel.close(promise: nil)
                    }
                }
            }
        }
    }

    /// The listener as a service of a `ServiceGroup`.
    struct ListenerService: Service {
        let listener: ServerListener<EchoHandler>

        func run() async throws {
            try await listener.run()
        }
    }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func listener(
        maxConnections: Int = 16,
        drainTimeout: Duration = .seconds(30),
        honoursDrain: Bool = true,
        port: Int = 0,
        metrics: TestMetrics = TestMetrics()
    ) -> ServerListener<EchoHandler> {
        ServerListener(
            configuration: .init(
                host: "127.0.0.1",
                port: port,
                maxConnections: maxConnections,
                drainTimeout: drainTimeout,
                name: "test"
            ),
            handler: EchoHandler(honoursDrain: honoursDrain),
            logger: logger,
            metricsFactory: metrics
        )
    }

    /// Sends `text` and waits for its echo, `total` bytes echoed so far.
    static func expectEcho(_ connection: RawHTTP.Connection, _ text: String, total: Int) async throws {
        try await connection.send(text)
        try await connection.waitForBytes(atLeast: total)
    }

    @Test func connectionsOverTheLimitAreClosedAtOnceAndCounted() async throws {
        let metrics = TestMetrics()
        let listener = Self.listener(maxConnections: 1, metrics: metrics)
        let running = Task { try await listener.run() }
        let port = try await listener.listeningAddress().port
        let first = try await RawHTTP.open(port: port)
        try await Self.expectEcho(first, "one", total: 3)
        // The second is closed before it is served: nothing comes back.
        let refused = try await RawHTTP.exchange(port: port, "two")
        #expect(refused.raw.isEmpty)
        let counter = try metrics.expectCounter("token_test_connections_refused_total")
        #expect(counter.totalValue == 1)
        let open = try metrics.expectGauge("token_test_connections_open")
        #expect(open.lastValue == 1)
        // The first goes on.
        try await Self.expectEcho(first, "three", total: 8)
        try await first.close()
        #expect(try await first.collector.closed.futureResult.get() == "onethree")
        #expect(try await eventually(within: .seconds(5)) { open.lastValue == 0 }, "\(String(describing: open.lastValue))")
        running.cancel()
        try await running.value
    }

    @Test func gracefulShutdownStopsAcceptingAndClosesWhatIsLeftAfterTheDrainTimeout() async throws {
        let listener = Self.listener(drainTimeout: .milliseconds(300), honoursDrain: false)
        let group = ServiceGroup(services: [ListenerService(listener: listener)], logger: Self.logger)
        let running = Task { try await group.run() }
        let port = try await listener.listeningAddress().port
        let stubborn = try await RawHTTP.open(port: port)
        try await Self.expectEcho(stubborn, "before", total: 6)
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        // The connection that ignores the drain is closed once the drain timeout has passed.
        #expect(try await stubborn.collector.closed.futureResult.get() == "before")
        try await running.value
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        // No longer listening.
        await #expect(throws: (any Error).self) { _ = try await RawHTTP.open(port: port) }
    }

    @Test func gracefulShutdownEndsOnceTheConnectionsHaveDrained() async throws {
        let listener = Self.listener(drainTimeout: .seconds(600), honoursDrain: true)
        let group = ServiceGroup(services: [ListenerService(listener: listener)], logger: Self.logger)
        let running = Task { try await group.run() }
        let port = try await listener.listeningAddress().port
        let connection = try await RawHTTP.open(port: port)
        try await Self.expectEcho(connection, "hello", total: 5)
        await group.triggerGracefulShutdown()
        #expect(try await connection.collector.closed.futureResult.get() == "hello")
        // Long before the drain timeout.
        try await running.value
    }

    @Test(.timeLimit(.minutes(1)))
    func connectionsArrivingWhileTheListenerClosesAreDrainedNotDropped() async throws {
        // A connection set up just as the listening socket closes never reaches the accept loop; the
        // listener must still serve (drain) it: a NIOAsyncChannel dropped unused stops the process.
        for _ in 0..<20 {
            let listener = Self.listener(drainTimeout: .seconds(600), honoursDrain: true)
            let group = ServiceGroup(services: [ListenerService(listener: listener)], logger: Self.logger)
            let running = Task { try await group.run() }
            let port = try await listener.listeningAddress().port
            let (started, startedSink) = AsyncStream.makeStream(of: Void.self)
            let connecting = Task {
                var opened: [RawHTTP.Connection] = []
                // Until the listener refuses: connections keep arriving as it closes.
                while let connection = try? await RawHTTP.open(port: port) {
                    opened.append(connection)
                    if opened.count == 20 { startedSink.finish() }
                }
                startedSink.finish()
                return opened
            }
            for await _ in started {}
            await group.triggerGracefulShutdown()
            try await running.value
            // Every connection that got in was closed by the server.
            let opened = await connecting.value
            #expect(opened.count >= 20)
            for connection in opened {
                _ = try await connection.collector.closed.futureResult.get()
            }
        }
    }

    @Test func aBindThatFailsIsReportedToWhoeverWaitsForTheAddress() async throws {
        let holder = Self.listener()
        let holding = Task { try await holder.run() }
        let port = try await holder.listeningAddress().port
        let second = Self.listener(port: port)
        await #expect(throws: (any Error).self) { try await second.run() }
        await #expect(throws: (any Error).self) { _ = try await second.listeningAddress() }
        // A failure before binding (e.g. TLS files) too.
        struct Unusable: Error {}
        let third = Self.listener()
        await #expect(throws: Unusable.self) { try await third.run { throw Unusable() } }
        await #expect(throws: Unusable.self) { _ = try await third.listeningAddress() }
        holding.cancel()
        try await holding.value
    }
}
