import NIOCore
import ServiceLifecycle
import TokenServerCore
import TokenWire

/// Sets up and serves the connections of an `RPCServer`: the frame decoder, the frame handler (a
/// read's frames together, timeouts) and a `NIOAsyncChannel` in the pipeline, then an
/// `RPCServerConnection` reading and writing it.
struct RPCServerConnectionHandler: ServerConnectionHandler {
    let shared: RPCServerShared

    func setUp(channel: any Channel) throws -> NIOAsyncChannel<[ByteBuffer], ByteBuffer> {
        let decoder = FrameDecoder(maxFrameLength: shared.configuration.maxFrameBytes)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(decoder))
        try pipeline.addHandler(
            RPCServerFrameHandler(
                decoder: decoder,
                frameReadTimeout: shared.configuration.frameReadTimeout,
                idleTimeout: shared.configuration.idleTimeout,
                logger: shared.logger
            )
        )
        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
    }

    func serve(_ connection: NIOAsyncChannel<[ByteBuffer], ByteBuffer>) async {
        let channel = connection.channel
        let shared = self.shared
        try? await connection.executeThenClose { inbound, outbound in
            let rpc = RPCServerConnection(shared: shared, channel: channel)
            let bound = NIOLoopBound(rpc, eventLoop: channel.eventLoop)
            channel.closeFuture.whenComplete { _ in bound.value.connectionClosed() }
            await withGracefulShutdownHandler {
                async let writing: Void = bound.value.writeAnswers(to: outbound)
                await rpc.readRequests(from: inbound)
                await writing
            } onGracefulShutdown: {
                bound.eventLoop.execute { bound.value.beginDrain() }
            }
        }
    }
}
