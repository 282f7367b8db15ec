import NIOCore
import NIOPosix
import TokenWire

/// A client that reads its socket only when told, one read at a time, through a small receive
/// buffer: a reader far slower than the server writes.
final class SlowStreamReader {
    private enum Event {
        case response(RpcResponse)
        case readComplete
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let sink: AsyncStream<Event>.Continuation

        init(sink: AsyncStream<Event>.Continuation) {
            self.sink = sink
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let unparseable = RpcResponse(callID: .max, code: .max, message: "unparseable", endOfStream: true)
            sink.yield(.response((try? RpcResponse(serializedBytes: Self.unwrapInboundIn(data))) ?? unparseable))
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            sink.yield(.readComplete)
        }

        func channelInactive(context: ChannelHandlerContext) {
            sink.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    private let channel: any Channel
    private var events: AsyncStream<Event>.AsyncIterator

    private init(channel: any Channel, events: AsyncStream<Event>) {
        self.channel = channel
        self.events = events.makeAsyncIterator()
    }

    static func connect(port: Int) async throws -> SlowStreamReader {
        let (stream, sink) = AsyncStream.makeStream(of: Event.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16_384)
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
        return SlowStreamReader(channel: channel, events: stream)
    }

    func send(_ request: RpcRequest) async throws {
        try await channel.writeAndFlush(FrameEncoder().encode(request, allocator: channel.allocator)).get()
    }

    /// Reads the socket once (waiting for bytes) and returns the responses completed by it, possibly
    /// none; nil once the server has closed the connection.
    func readOneRound() async -> [RpcResponse]? {
        channel.read()
        var responses: [RpcResponse] = []
        while let event = await events.next() {
            switch event {
            case .response(let response): responses.append(response)
            case .readComplete: return responses
            }
        }
        return responses.isEmpty ? nil : responses
    }

    func close() async {
        try? await channel.close()
    }
}
