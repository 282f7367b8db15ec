import NIOCore
import NIOPosix
import Synchronization
import TokenWire

/// A lean pipelined load generator, like `wrk` or `h2load` for this protocol: every connection keeps
/// `depth` calls in flight and sends one more pre-encoded request for each answer, taking the
/// payloads in turn (each connection starting at its own place). Answers are checked
/// (status OK and `accept` true for the payload) without building typed messages, so the generator
/// leaves the cores to the server, as a client on another machine would.
struct PipelinedLoad: Sendable {
    /// The requests the calls send (their `call_id` is replaced per call): one method, one or more payloads.
    let method: String
    let payloads: [[UInt8]]
    let credential: String
    /// Judges an OK answer's payload; false counts as a failed call.
    let accept: @Sendable (ByteBuffer) -> Bool

    /// What one measurement found.
    struct Outcome {
        /// Answers per second.
        let rate: Double
        /// Answers within the window.
        let calls: Int
        /// Where the cores went during the window (nil where `/proc` is unavailable).
        let cpu: ProcessCPU.Usage?
        /// Each call's time from its request written to its answer read, within the window.
        var latency = LatencyRecorder()
    }

    /// Answers per second over `duration`, with `connections` connections of `depth` calls each,
    /// and the CPU time the window took.
    /// - Throws: when a connection fails or any answer is not accepted.
    func measure(
        host: String,
        port: Int,
        connections: Int,
        depth: Int,
        duration: Duration,
        group: any EventLoopGroup
    ) async throws -> Outcome {
        let counters = PipelinedCallCounters()
        guard !payloads.isEmpty else { throw PipelinedLoadError("no request payload") }
        let requestTails = try payloads.map { payload in
            let template = RpcRequest(callID: 1, method: method, payload: payload, credential: credential).serializedBytes()
            guard template.starts(with: [0x08, 0x01]) else { throw PipelinedLoadError("unexpected request encoding") }
            return Array(template.dropFirst(2))
        }
        let connectionIndex = Atomic<Int>(0)
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    let index = connectionIndex.wrappingAdd(1, ordering: .relaxed).oldValue
                    try channel.pipeline.syncOperations.addHandler(
                        PipelinedCallsHandler(
                            requestTails: requestTails, firstTail: index * requestTails.count / max(connections, 1),
                            depth: depth, accept: accept, counters: counters)
                    )
                }
            }
        var channels: [any Channel] = []
        defer {
            counters.stopped.store(true, ordering: .relaxed)
            for channel in channels {
                channel.close(promise: nil)
            }
        }
        for _ in 0..<connections {
            channels.append(try await bootstrap.connect(host: host, port: port).get())
        }
        // Let every connection fill its pipeline before the window opens.
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let startCPU = ProcessCPU.take()
        let startCount = counters.completed.load(ordering: .relaxed)
        let start = clock.now
        counters.recording.store(true, ordering: .relaxed)
        try await Task.sleep(for: duration)
        counters.recording.store(false, ordering: .relaxed)
        let endCount = counters.completed.load(ordering: .relaxed)
        let elapsed = clock.now - start
        let endCPU = ProcessCPU.take()
        let failed = counters.failed.load(ordering: .relaxed)
        guard failed == 0 else {
            throw PipelinedLoadError("\(failed) of \(endCount + failed) \(method) calls failed or answered unexpectedly")
        }
        let (wholeSeconds, attoseconds) = elapsed.components
        let calls = endCount - startCount
        let cpu = startCPU.flatMap { start in endCPU.map { $0.usage(since: start) } }
        return Outcome(
            rate: Double(calls) / (Double(wholeSeconds) + Double(attoseconds) * 1e-18), calls: calls, cpu: cpu,
            latency: counters.latency.withLock { $0 })
    }
}

/// Calls answered and failed over all connections of one measurement.
final class PipelinedCallCounters: Sendable {
    let completed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let stopped = Atomic<Bool>(false)
    /// Whether answers' latencies are recorded (inside the measurement window).
    let recording = Atomic<Bool>(false)
    let latency = Mutex(LatencyRecorder())
}

struct PipelinedLoadError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// One connection of a `PipelinedLoad`: primes `depth` calls, then answers each answer with a new call;
/// writes are flushed once per read burst.
final class PipelinedCallsHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let requestTails: [[UInt8]]
    private var nextTail: Int
    private let depth: Int
    private let accept: @Sendable (ByteBuffer) -> Bool
    private let counters: PipelinedCallCounters
    private var nextCallID: UInt64 = 0
    /// When each call in flight was written (uptime nanoseconds), by `call_id` modulo the ring's
    /// size, which is larger than any depth.
    private var sentAt = [UInt64](repeating: 0, count: 1_024)

    init(
        requestTails: [[UInt8]],
        firstTail: Int,
        depth: Int,
        accept: @escaping @Sendable (ByteBuffer) -> Bool,
        counters: PipelinedCallCounters
    ) {
        self.requestTails = requestTails
        self.nextTail = firstTail % max(requestTails.count, 1)
        self.depth = depth
        self.accept = accept
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<depth {
            send(context: context)
        }
        context.flush()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        if let answer = Self.answer(in: frame), answer.code == 0, accept(answer.payload) {
            counters.completed.add(1, ordering: .relaxed)
            if counters.recording.load(ordering: .relaxed) {
                let sent = sentAt[Int(answer.callID % UInt64(sentAt.count))]
                let elapsed = NIODeadline.now().uptimeNanoseconds &- sent
                counters.latency.withLock { $0.record(.nanoseconds(Int64(clamping: elapsed))) }
            }
        } else {
            counters.failed.add(1, ordering: .relaxed)
        }
        if !counters.stopped.load(ordering: .relaxed) {
            send(context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !counters.stopped.load(ordering: .relaxed) {
            counters.failed.add(1, ordering: .relaxed)
        }
        context.close(promise: nil)
    }

    /// Writes one request frame: the length prefix, `call_id` (field 1) and the next template's other
    /// fields.
    private func send(context: ChannelHandlerContext) {
        nextCallID &+= 1
        let requestTail = requestTails[nextTail]
        nextTail = nextTail + 1 == requestTails.count ? 0 : nextTail + 1
        var buffer = context.channel.allocator.buffer(capacity: requestTail.count + 15)
        buffer.writeInteger(UInt32(0), endianness: .big)
        buffer.writeInteger(UInt8(0x08))
        buffer.writeProtobufVarint(nextCallID)
        buffer.writeBytes(requestTail)
        buffer.setInteger(UInt32(buffer.readableBytes - 4), at: buffer.readerIndex, endianness: .big)
        sentAt[Int(nextCallID % UInt64(sentAt.count))] = NIODeadline.now().uptimeNanoseconds
        context.write(Self.wrapOutboundOut(buffer), promise: nil)
    }

    /// The call id (field 1), status code (field 2) and payload (field 4) of an `RpcResponse`; nil when
    /// it does not parse.
    static func answer(in frame: ByteBuffer) -> (callID: UInt64, code: UInt64, payload: ByteBuffer)? {
        var frame = frame
        var callID: UInt64 = 0
        var code: UInt64 = 0
        var payload = ByteBuffer()
        while frame.readableBytes > 0 {
            guard let tag = frame.readProtobufVarint() else { return nil }
            switch tag & 7 {
            case 0:
                guard let value = frame.readProtobufVarint() else { return nil }
                if tag >> 3 == 1 { callID = value }
                if tag >> 3 == 2 { code = value }
            case 2:
                guard let length = frame.readProtobufVarint(), length <= frame.readableBytes,
                    let bytes = frame.readSlice(length: Int(length))
                else { return nil }
                if tag >> 3 == 4 { payload = bytes }
            default:
                return nil
            }
        }
        return (callID, code, payload)
    }
}

@available(*, unavailable)
extension PipelinedCallsHandler: Sendable {}
