import NIOCore
import Synchronization
import TokenWire

/// One open connection of an `RPCClient`: its channel, its calls in flight and its call ids.
final class RPCClientConnection: Sendable {
    let channel: any Channel
    let calls: RPCClientCalls
    private let handler: NIOLoopBound<RPCClientConnectionHandler>
    private let lastCallID = Atomic<UInt64>(0)

    init(channel: any Channel, calls: RPCClientCalls, handler: NIOLoopBound<RPCClientConnectionHandler>) {
        self.channel = channel
        self.calls = calls
        self.handler = handler
    }

    /// Whether new calls may use this connection.
    var isUsable: Bool {
        channel.isActive && !calls.isClosed
    }

    /// A fresh non-zero call id.
    func makeCallID() -> UInt64 {
        lastCallID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Queues a frame (from any thread).
    func send(_ frame: ByteBuffer) {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.send(frame)
        }
    }

    /// Registers call `callID`, sends its request frame and arms its deadline.
    /// - Returns: the error the call ends with at once (the connection is closing, or the id is in
    ///   use), or nil when it was sent.
    func start(
        _ callID: UInt64,
        _ pending: RPCClientCalls.Pending,
        frame: ByteBuffer,
        deadline: ContinuousClock.Instant?
    ) -> RPCError? {
        if let error = calls.register(callID, pending) {
            return error
        }
        send(frame)
        if let deadline {
            enforce(deadline: deadline, for: callID)
        }
        return nil
    }

    /// Ends a call locally with `error` and tells the server to cancel it.
    func abandon(_ callID: UInt64, with error: RPCError) {
        guard let pending = calls.remove(callID) else { return }
        send(Self.cancelFrame(callID))
        pending.fail(error)
    }

    /// Ends the call with DEADLINE_EXCEEDED at `deadline` unless it ended before.
    private func enforce(deadline: ContinuousClock.Instant, for callID: UInt64) {
        let remaining = deadline - ContinuousClock.now
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(remaining)) { [self] in
            abandon(callID, with: .deadlineExceeded())
        }
        calls.attach(timer, to: callID)
    }

    /// The frame cancelling call `callID`.
    static func cancelFrame(_ callID: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        // A cancel request is a few bytes, far below any frame limit.
        try? FrameEncoder(maxFrameLength: Int(UInt32.max)).encode(
            RpcRequest(callID: callID, cancel: true),
            into: &buffer
        )
        return buffer
    }
}
