import NIOCore
import NIOEmbedded
import Testing

@testable import TokenHTTP

/// The HTTP port's timeouts on an EmbeddedChannel, whose clock only moves when the test says.
@Suite struct HTTPDeadlineHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            HTTPDeadlineHandler(readTimeout: .seconds(10), idleTimeout: .seconds(60))
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aConnectionWithoutARequestClosesAfterTheIdleTimeout() throws {
        let channel = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aRequestMustArriveWithinTheReadTimeoutOfItsFirstByte() throws {
        let channel = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        try channel.writeInbound(ByteBuffer(string: "GET / HT"))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "GET / HT"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func noTimeoutRunsWhileAnsweringAndTheIdleTimeoutRestartsAfterTheResponse() throws {
        let channel = try Self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        channel.pipeline.triggerUserOutboundEvent(HTTPConnectionEvent.requestComplete, promise: nil)
        // A slow answer (a readiness probe waiting for the store) is not cut off.
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive)
        channel.pipeline.triggerUserOutboundEvent(HTTPConnectionEvent.responseSent, promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        // The next request's first byte switches to the read timeout.
        try channel.writeInbound(ByteBuffer(string: "G"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    @Test func aPeerThatTakesNoByteOfAnAnswerForTheIdleTimeoutIsClosed() throws {
        let channel = EmbeddedChannel()
        let socket = HeldWrites()
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.pipeline.syncOperations.addHandler(
            HTTPDeadlineHandler(readTimeout: .seconds(10), idleTimeout: .seconds(60))
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        channel.pipeline.triggerUserOutboundEvent(HTTPConnectionEvent.requestComplete, promise: nil)
        // A small answer the socket takes: no timeout while the next one waits.
        channel.writeAndFlush(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), promise: nil)
        socket.takeAll()
        channel.embeddedEventLoop.advanceTime(by: .seconds(120))
        #expect(channel.isActive)
        // One the socket never takes: closed after the idle timeout, counted from the write.
        channel.writeAndFlush(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }
}

/// Stands for a socket whose peer reads nothing: writes stay pending until `takeAll`.
private final class HeldWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private var held: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let promise { held.append(promise) }
    }

    func takeAll() {
        let taken = held
        held = []
        taken.forEach { $0.succeed() }
    }
}
