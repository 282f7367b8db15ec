import NIOCore
import NIOPosix
import TokenWire

/// A bare TCP client for crafting bytes: it sends whatever it is given and yields each response
/// frame; `next()` returns nil once the server has closed the connection.
final class RawConnection {
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let sink: AsyncStream<RpcResponse>.Continuation

        init(sink: AsyncStream<RpcResponse>.Continuation) {
            self.sink = sink
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // A response that does not parse becomes one no expectation accepts.
            let unparseable = RpcResponse(callID: .max, code: .max, message: "unparseable", endOfStream: true)
            sink.yield((try? RpcResponse(serializedBytes: Self.unwrapInboundIn(data))) ?? unparseable)
        }

        func channelInactive(context: ChannelHandlerContext) {
            sink.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    let channel: any Channel
    private var iterator: AsyncStream<RpcResponse>.AsyncIterator

    private init(channel: any Channel, responses: AsyncStream<RpcResponse>) {
        self.channel = channel
        self.iterator = responses.makeAsyncIterator()
    }

    static func connect(port: Int, autoRead: Bool = true) async throws -> RawConnection {
        let (stream, sink) = AsyncStream.makeStream(of: RpcResponse.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: autoRead)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maxFrameLength: 1 << 24))
                    )
                    try channel.pipeline.syncOperations.addHandler(Collector(sink: sink))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return RawConnection(channel: channel, responses: stream)
    }

    /// Sends raw bytes as they are.
    func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Sends one request as a well-formed frame.
    func send(_ request: RpcRequest) async throws {
        try await channel.writeAndFlush(FrameEncoder().encode(request, allocator: channel.allocator)).get()
    }

    /// Sends a frame holding `body` as it is.
    func send(frameBody body: [UInt8]) async throws {
        var frame = ByteBuffer()
        frame.writeInteger(UInt32(body.count), endianness: .big)
        frame.writeBytes(body)
        try await channel.writeAndFlush(frame).get()
    }

    /// The next response, or nil when the server closed the connection.
    func next() async -> RpcResponse? {
        await iterator.next()
    }

    /// Waits until the server closes the connection, skipping responses.
    func waitUntilClosed() async {
        while await next() != nil {}
    }

    func setAutoRead(_ on: Bool) async throws {
        try await channel.setOption(.autoRead, value: on).get()
    }

    func close() async {
        try? await channel.close()
    }
}
