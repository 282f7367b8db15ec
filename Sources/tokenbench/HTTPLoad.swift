import NIOCore
import NIOPosix
import Synchronization

/// A lean HTTP/1.1 keep-alive load generator, as `wrk` drives a server: every connection sends one
/// request, reads its answer, and sends the next at once (the requests in turn, each connection
/// starting at its own place). Answers are read from the bytes (status line and `Content-Length`)
/// without building typed messages, so the generator leaves the cores to the server.
struct HTTPLoad: Sendable {
    /// The requests, whole (head and body), sent in turn.
    let requests: [[UInt8]]
    /// The status every answer must have; another counts as a failure.
    let expectedStatus: Int

    /// Answers per second over `duration` with `connections` connections, and their latencies.
    /// - Throws: when a connection fails or an answer has another status.
    func measure(
        port: Int,
        connections: Int,
        duration: Duration,
        group: any EventLoopGroup
    ) async throws -> (rate: Double, latency: LatencyRecorder) {
        let counters = PipelinedCallCounters()
        let index = Atomic<Int>(0)
        let requests = self.requests
        let expected = expectedStatus
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let first = index.wrappingAdd(1, ordering: .relaxed).oldValue * requests.count / max(connections, 1)
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPLoadHandler(requests: requests, first: first, expectedStatus: expected, counters: counters))
                }
            }
        var channels: [any Channel] = []
        defer {
            counters.stopped.store(true, ordering: .relaxed)
            channels.forEach { $0.close(promise: nil) }
        }
        for _ in 0..<connections {
            channels.append(try await bootstrap.connect(host: "127.0.0.1", port: port).get())
        }
        // Let every connection get going before the window opens.
        try await Task.sleep(for: .milliseconds(100))
        let clock = ContinuousClock()
        let startCount = counters.completed.load(ordering: .relaxed)
        let start = clock.now
        counters.recording.store(true, ordering: .relaxed)
        try await Task.sleep(for: duration)
        counters.recording.store(false, ordering: .relaxed)
        let calls = counters.completed.load(ordering: .relaxed) - startCount
        let elapsed = clock.now - start
        let failed = counters.failed.load(ordering: .relaxed)
        guard failed == 0 else {
            throw PipelinedLoadError("\(failed) HTTP requests failed or were not answered \(expected)")
        }
        return (Double(calls) / BenchSession.seconds(elapsed), counters.latency.withLock { $0 })
    }
}

/// Finds the answers in the bytes of an HTTP/1.1 connection: each one's status, once its head and
/// `Content-Length` bytes of body have arrived. Works on the bytes (no strings), so the generator
/// costs the cores little.
struct HTTPResponseScanner {
    private var buffer = ByteBuffer()

    /// A head longer than this is no answer of the servers measured here.
    static let maxHeadBytes = 16_384
    private static let statusPrefix = Array("HTTP/1.1 ".utf8)
    private static let contentLength = Array("content-length:".utf8)

    private enum Scan {
        case incomplete, malformed
        case answer(status: Int, bytes: Int)
    }

    /// Adds what arrived.
    mutating func append(_ bytes: inout ByteBuffer) {
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            buffer.writeBuffer(&bytes)
        }
    }

    /// The status of the next complete answer, consumed; nil while none is complete; -1 for bytes
    /// that are no answer (they are dropped).
    mutating func next() -> Int? {
        switch buffer.withUnsafeReadableBytes(Self.scan) {
        case .incomplete:
            return nil
        case .malformed:
            buffer.clear()
            return -1
        case .answer(let status, let bytes):
            guard buffer.readableBytes >= bytes else { return nil }
            buffer.moveReaderIndex(forwardBy: bytes)
            return status
        }
    }

    /// The status and whole length (head and body) of the answer at the start of `bytes`.
    private static func scan(_ bytes: UnsafeRawBufferPointer) -> Scan {
        var end = 3
        while end < bytes.count, !(bytes[end] == 10 && bytes[end - 1] == 13 && bytes[end - 2] == 10
            && bytes[end - 3] == 13)
        {
            end += 1
        }
        guard end < bytes.count, end < maxHeadBytes else {
            return bytes.count >= maxHeadBytes ? .malformed : .incomplete
        }
        let headBytes = end + 1
        guard headBytes > 12, bytes.starts(with: statusPrefix) else { return .malformed }
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index] &- 48
            guard digit < 10 else { return .malformed }
            status = status * 10 + Int(digit)
        }
        var bodyBytes = 0
        var index = 0
        while index < headBytes {
            // Each header line starts after a line feed.
            if bytes[index] == 10, index + 1 + contentLength.count < headBytes,
                contentLength.indices.allSatisfy({ bytes[index + 1 + $0] | 0x20 == contentLength[$0] })
            {
                var digitIndex = index + 1 + contentLength.count
                while bytes[digitIndex] == 32 { digitIndex += 1 }
                while bytes[digitIndex] &- 48 < 10 {
                    guard bodyBytes < 100_000_000 else { return .malformed }
                    bodyBytes = bodyBytes * 10 + Int(bytes[digitIndex] &- 48)
                    digitIndex += 1
                }
            }
            index += 1
        }
        return .answer(status: status, bytes: headBytes + bodyBytes)
    }
}

/// One connection of an `HTTPLoad`: a request, its answer, the next request.
final class HTTPLoadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let requests: [ByteBuffer]
    private var next: Int
    private let expectedStatus: Int
    private let counters: PipelinedCallCounters
    private var scanner = HTTPResponseScanner()
    private var sentAt: UInt64 = 0

    init(requests: [[UInt8]], first: Int, expectedStatus: Int, counters: PipelinedCallCounters) {
        self.requests = requests.map { ByteBuffer(bytes: $0) }
        self.next = first % max(requests.count, 1)
        self.expectedStatus = expectedStatus
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        scanner.append(&bytes)
        while let status = scanner.next() {
            guard status == expectedStatus else {
                counters.failed.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            }
            counters.completed.add(1, ordering: .relaxed)
            if counters.recording.load(ordering: .relaxed) {
                let elapsed = NIODeadline.now().uptimeNanoseconds &- sentAt
                counters.latency.withLock { $0.record(.nanoseconds(Int64(clamping: elapsed))) }
            }
            if !counters.stopped.load(ordering: .relaxed) {
                send(context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !counters.stopped.load(ordering: .relaxed) {
            counters.failed.add(1, ordering: .relaxed)
        }
        context.close(promise: nil)
    }

    private func send(context: ChannelHandlerContext) {
        let request = requests[next]
        next = next + 1 == requests.count ? 0 : next + 1
        sentAt = NIODeadline.now().uptimeNanoseconds
        context.writeAndFlush(Self.wrapOutboundOut(request), promise: nil)
    }
}

@available(*, unavailable)
extension HTTPLoadHandler: Sendable {}

/// One kept-alive HTTP connection that sends a request when asked and returns its answer's status.
final class HTTPProbe: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<HTTPProbeHandler>

    private init(channel: any Channel, handler: NIOLoopBound<HTTPProbeHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(port: Int) async throws -> HTTPProbe {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port).get()
        let handler = try await channel.eventLoop.submit {
            let handler = HTTPProbeHandler()
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        return HTTPProbe(channel: channel, handler: handler)
    }

    /// Sends `request` and returns the status of its answer.
    /// - Throws: when the connection closes, the answer does not parse, or none came within 5 s.
    func status(of request: [UInt8]) async throws -> Int {
        let handler = self.handler
        let channel = self.channel
        return try await channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: Int.self)
            handler.value.waiting = promise
            channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
            let timeout = channel.eventLoop.scheduleTask(in: .seconds(5)) {
                handler.value.fail(PipelinedLoadError("no HTTP answer within 5 s"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            return promise.futureResult
        }.get()
    }

    func close() async {
        try? await channel.close()
    }
}

final class HTTPProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var waiting: EventLoopPromise<Int>?
    private var scanner = HTTPResponseScanner()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = Self.unwrapInboundIn(data)
        scanner.append(&bytes)
        while let status = scanner.next() {
            guard status >= 0 else {
                fail(PipelinedLoadError("bytes that are no HTTP answer"))
                context.close(promise: nil)
                return
            }
            waiting?.succeed(status)
            waiting = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    /// Fails the request waiting for its answer, if any.
    func fail(_ error: any Error) {
        waiting?.fail(error)
        waiting = nil
    }
}

@available(*, unavailable)
extension HTTPProbeHandler: Sendable {}
