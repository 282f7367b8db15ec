import NIOCore
import NIOPosix
import TokenWire

/// A bare TCP client for crafting bytes: it sends whatever it is given and yields each response
/// frame; `next()` returns nil once the server has closed the connection. Without auto-read it reads
/// only when told (`readOneRound()`), a reader far slower than the server writes.
final class RawConnection {
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
            // A response that does not parse becomes one no expectation accepts.
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

    let channel: any Channel
    private var iterator: AsyncStream<Event>.AsyncIterator

    private init(channel: any Channel, events: AsyncStream<Event>) {
        self.channel = channel
        self.iterator = events.makeAsyncIterator()
    }

    /// - Parameters:
    ///   - autoRead: false: the socket is read only in `readOneRound()`.
    ///   - receiveBufferSize: the socket's receive buffer, nil for the system's default.
    static func connect(port: Int, autoRead: Bool = true, receiveBufferSize: Int? = nil) async throws -> RawConnection {
        let (stream, sink) = AsyncStream.makeStream(of: Event.self)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel = try await bootstrap
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
        return RawConnection(channel: channel, events: stream)
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
        while let event = await iterator.next() {
            if case .response(let response) = event {
                return response
            }
        }
        return nil
    }

    /// Reads the socket once (waiting for bytes) and returns the responses completed by it, possibly
    /// none; nil once the server has closed the connection. For a connection without auto-read.
    func readOneRound() async -> [RpcResponse]? {
        channel.read()
        var responses: [RpcResponse] = []
        while let event = await iterator.next() {
            switch event {
            case .response(let response): responses.append(response)
            case .readComplete: return responses
            }
        }
        return responses.isEmpty ? nil : responses
    }

    /// Waits until the server closes the connection, skipping responses.
    func waitUntilClosed() async {
        while await next() != nil {}
    }

    func close() async {
        try? await channel.close()
    }
}
