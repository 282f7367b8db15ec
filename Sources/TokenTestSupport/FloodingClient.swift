import NIOCore
import NIOPosix
import TokenWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client that sends requests as fast as the server takes them and never reads an answer, as an
/// abusive client would, until it is closed. It reports whether the server stopped taking its bytes
/// (the socket stayed full for a while), and how many it took before.
public final class FloodingClient: Sendable {
    /// How a flood ended.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The server stopped taking bytes: none left for `stallAfter` while the socket was full.
        public let stalled: Bool
        /// Bytes the kernel took from this client (handed towards the server).
        public let bytesAccepted: Int

        public var description: String {
            "\(stalled ? "stalled" : "still sending") after \(bytesAccepted) bytes"
        }
    }

    /// The event loop of every flood: a thread of its own, so that a flood hogs no loop the test's
    /// other clients and servers use.
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// The connection.
    public let channel: any Channel
    private let outcome: EventLoopFuture<Outcome>

    private init(channel: any Channel, outcome: EventLoopFuture<Outcome>) {
        self.channel = channel
        self.outcome = outcome
    }

    /// Connects and starts sending at once.
    /// - Parameters:
    ///   - port: the loopback port.
    ///   - stallAfter: how long the socket must stay full, with no byte taken, to count as stalled.
    ///   - giveUpAfter: how long to flood at most before reporting that it never stalled.
    ///   - frame: the bytes of the request numbered `n` (1, 2, ...).
    /// - Returns: the flooding client.
    /// - Throws: when it cannot connect.
    public static func start(
        port: Int,
        stallAfter: Duration = .seconds(1),
        giveUpAfter: Duration = .seconds(30),
        frame: @escaping @Sendable (UInt64) -> ByteBuffer
    ) async throws -> FloodingClient {
        let eventLoop = group.next()
        let outcome = eventLoop.makePromise(of: Outcome.self)
        let channel = try await ClientBootstrap(group: eventLoop)
            // Never read: the answers pile up in the kernel until the server's socket is full. Small
            // socket buffers make that, and this socket's own filling, come soon; so does the segment
            // size of an Ethernet path (loopback's 64 KiB segments let the server's kernel buffer
            // megabytes for a peer that does not read).
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 8_192)
            .channelOption(.socketOption(.so_sndbuf), value: 65_536)
            .channelOption(
                ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: TCP_MAXSEG)),
                value: 1_460
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FloodHandler(
                            frame: frame,
                            stallAfter: TimeAmount(stallAfter),
                            giveUpAfter: TimeAmount(giveUpAfter),
                            outcome: outcome
                        )
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return FloodingClient(channel: channel, outcome: outcome.futureResult)
    }

    /// The frames of `request` under call ids 1, 2, ...: made without packing the request again, so
    /// that the flood is bounded by the server, not by the client's encoding.
    /// - Parameter request: the request; its call id is replaced.
    /// - Returns: what `start(port:stallAfter:giveUpAfter:frame:)` takes.
    public static func frames(of request: RpcRequest) -> @Sendable (UInt64) -> ByteBuffer {
        var request = request
        request.callID = 0
        // Without its call id (0 is left out), so that a call id written first completes it.
        let envelope = request.serializedBytes()
        return { callID in
            var body = ByteBuffer()
            body.writeInteger(UInt8(0x08))
            body.writeProtobufVarint(callID)
            var frame = ByteBuffer()
            frame.reserveCapacity(4 + body.readableBytes + envelope.count)
            frame.writeInteger(UInt32(body.readableBytes + envelope.count))
            frame.writeBuffer(&body)
            frame.writeBytes(envelope)
            return frame
        }
    }

    /// Waits until the flood stalls or gives up (it goes on sending whenever the server reads again).
    public func result() async throws -> Outcome {
        try await outcome.get()
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// Writes frames while the socket takes them and watches for the stall.
private final class FloodHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let frame: @Sendable (UInt64) -> ByteBuffer
    private let stallAfter: TimeAmount
    private let giveUpAfter: TimeAmount
    private let outcome: EventLoopPromise<FloodingClient.Outcome>
    private var next: UInt64 = 1
    private var accepted = 0
    private var lastAcceptedAt = NIODeadline.now()
    private var startedAt = NIODeadline.now()
    private var reported = false
    private var closed = false

    init(
        frame: @escaping @Sendable (UInt64) -> ByteBuffer,
        stallAfter: TimeAmount,
        giveUpAfter: TimeAmount,
        outcome: EventLoopPromise<FloodingClient.Outcome>
    ) {
        self.frame = frame
        self.stallAfter = stallAfter
        self.giveUpAfter = giveUpAfter
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        startedAt = .now()
        lastAcceptedAt = startedAt
        pump(context: context)
        check(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        finish(stalled: false)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        pump(context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Writes while the socket takes it, 64 frames a write (a write per frame would make the client,
    /// not the server, the bottleneck).
    private func pump(context: ChannelHandlerContext) {
        while !closed, context.channel.isWritable {
            var bytes = frame(next)
            next += 1
            for _ in 1..<64 {
                var another = frame(next)
                next += 1
                bytes.writeBuffer(&another)
            }
            let size = bytes.readableBytes
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenSuccess { [self] in
                accepted += size
                lastAcceptedAt = .now()
            }
            context.write(Self.wrapOutboundOut(bytes), promise: written)
        }
        context.flush()
    }

    /// Every tenth of the stall time: stalled once nothing was taken for `stallAfter` with the socket
    /// full; given up after `giveUpAfter`.
    private func check(context: ChannelHandlerContext) {
        guard !reported else { return }
        let now = NIODeadline.now()
        if !context.channel.isWritable, now - lastAcceptedAt >= stallAfter {
            finish(stalled: true)
            return
        }
        if now - startedAt >= giveUpAfter {
            finish(stalled: false)
            return
        }
        context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(stallAfter.nanoseconds / 10)) { [self] in
            check(context: context)
        }
    }

    private func finish(stalled: Bool) {
        guard !reported else { return }
        reported = true
        outcome.succeed(FloodingClient.Outcome(stalled: stalled, bytesAccepted: accepted))
    }
}

@available(*, unavailable)
extension FloodHandler: Sendable {}
