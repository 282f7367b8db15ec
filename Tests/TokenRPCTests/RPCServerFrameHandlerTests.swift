import Logging
import NIOCore
import NIOEmbedded
import Testing
import TokenWire

@testable import TokenRPC

/// The RPC port's frame handler on an EmbeddedChannel, whose clock only moves when the test says.
@Suite struct RPCServerFrameHandlerTests {
    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let decoder = FrameDecoder()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        try channel.pipeline.syncOperations.addHandler(
            RPCServerFrameHandler(
                decoder: decoder,
                frameReadTimeout: .seconds(10),
                idleTimeout: .seconds(120),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func aFrameMustCompleteWithinTheReadTimeoutWhileTheServerReads() throws {
        let channel = try Self.channel()
        channel.read()
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 8, 1, 2]))
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aConnectionTheServerStoppedReadingIsNotBlamedForItsUnfinishedFrame() throws {
        let channel = try Self.channel()
        channel.read()
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 8, 1, 2]))
        // No read asked for: the server is holding the connection back.
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive)
        // Reading again, the frame has the whole read timeout from then on.
        channel.read()
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(bytes: [3, 4, 5, 6, 7, 8]))
        #expect(try channel.readInbound(as: [ByteBuffer].self) == [ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])])
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func theFramesOfOneReadArePassedOnTogetherAndAFrameTooLargeAfterThem() throws {
        let channel = try Self.channel()
        let frames: [UInt8] = [0, 0, 0, 1, 0x41, 0, 0, 0, 0, 0, 0, 0, 2, 0x42, 0x43, 0, 0, 0]
        // Three frames, then a partial one, in one read; then one in the next read.
        try channel.writeInbound(ByteBuffer(bytes: frames))
        #expect(
            try channel.readInbound(as: [ByteBuffer].self)
                == [ByteBuffer(bytes: [0x41]), ByteBuffer(), ByteBuffer(bytes: [0x42, 0x43])]
        )
        try channel.writeInbound(ByteBuffer(bytes: [0x01, 0x44]))
        #expect(try channel.readInbound(as: [ByteBuffer].self) == [ByteBuffer(bytes: [0x44])])
        // A frame, then a length over the limit: the frame comes first, then the error.
        #expect(throws: TokenWireError.self) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 0x45, 0xFF, 0xFF, 0xFF, 0xFF]))
        }
        #expect(try channel.readInbound(as: [ByteBuffer].self) == [ByteBuffer(bytes: [0x45])])
        _ = try? channel.finish()
    }

    @Test func aConnectionWithoutAFrameEitherWayClosesAfterTheIdleTimeout() throws {
        let channel = try Self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(100))
        // An answer written counts as a frame.
        try channel.writeOutbound(ByteBuffer(bytes: [0, 0, 0, 0]))
        channel.embeddedEventLoop.advanceTime(by: .seconds(100))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        #expect(!channel.isActive)
    }
}
