import NIOCore
import NIOPosix
import Synchronization
import TokenWire

/// Lightweight WatchRevocations clients for the fan-out scenarios: one connection each, a frame
/// decoder and a handler that decodes every batch, on an event loop group of the benchmark's own.
/// They count what arrives instead of mirroring it, so that a thousand of them cost the shared cores
/// little next to the server they measure.
final class WatchStreamReaders: Sendable {
    /// Readers whose snapshot (or resume) completed.
    let current = Atomic<Int>(0)
    /// Live batches with events received, over all readers.
    let arrivals = Atomic<Int>(0)
    /// When the last of them arrived (uptime nanoseconds).
    let lastArrival = Atomic<UInt64>(0)
    /// Frame bytes received, over all readers, and revocations in snapshot batches (key ring events
    /// left out).
    let bytes = Atomic<Int>(0)
    let snapshotRevocations = Atomic<Int>(0)
    /// Streams that ended or failed.
    let failed = Atomic<Int>(0)
    private let channels = Mutex<[any Channel]>([])

    /// Opens `count` streams (asking for a snapshot) to the server at `host`:`port`.
    func open(
        _ count: Int,
        host: String,
        port: Int,
        credential: String,
        group: any EventLoopGroup
    ) async throws {
        let request = RpcRequest(
            callID: 1, method: TokenServiceMethod.watchRevocations,
            payload: WatchRevocationsRequest().serializedBytes(), credential: credential)
        let frame = try FrameEncoder().encode(request, allocator: ByteBufferAllocator())
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(WatchStreamHandler(request: frame, readers: self))
                }
            }
        for _ in 0..<count {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            channels.withLock { $0.append(channel) }
        }
    }

    /// Closes every stream.
    func close() async {
        let open = channels.withLock { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open {
            try? await channel.close()
        }
    }

    fileprivate func recordArrival() {
        let now = NIODeadline.now().uptimeNanoseconds
        var last = lastArrival.load(ordering: .relaxed)
        while last < now {
            let (exchanged, found) = lastArrival.compareExchange(expected: last, desired: now, ordering: .relaxed)
            if exchanged { break }
            last = found
        }
        arrivals.add(1, ordering: .releasing)
    }
}

/// One stream of `WatchStreamReaders`: sends the request once connected, then decodes each frame.
private final class WatchStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let readers: WatchStreamReaders
    private var isCurrent = false

    init(request: ByteBuffer, readers: WatchStreamReaders) {
        self.request = request
        self.readers = readers
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(request), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        readers.bytes.add(frame.readableBytes + 4, ordering: .relaxed)
        guard let response = try? RpcResponse(serializedBytes: frame), response.code == 0, !response.endOfStream,
            let batch = try? RevocationBatch(serializedBytes: response.payload)
        else {
            readers.failed.add(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        if batch.snapshot {
            readers.snapshotRevocations.add(batch.events.count { $0.kind != .keyRing }, ordering: .relaxed)
        } else if !isCurrent {
            isCurrent = true
            readers.current.add(1, ordering: .releasing)
        } else if !batch.events.isEmpty {
            readers.recordArrival()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        readers.failed.add(1, ordering: .relaxed)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension WatchStreamHandler: Sendable {}
