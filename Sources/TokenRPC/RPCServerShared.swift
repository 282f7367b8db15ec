import Logging
import NIOCore
import TokenWire

/// What every connection of one server shares: configuration, methods, callers, logger.
struct RPCServerShared: Sendable {
    let configuration: RPCServerConfiguration
    let methods: [String: RPCMethod]
    let callers: CallerRegistry
    let logger: Logger
    let encoder: FrameEncoder
    let metrics: RPCServerMetrics

    init(configuration: RPCServerConfiguration, methods: [RPCMethod], callers: CallerRegistry, logger: Logger) {
        self.configuration = configuration
        self.methods = Dictionary(methods.map { ($0.fullName, $0) }, uniquingKeysWith: { _, last in last })
        self.callers = callers
        self.logger = logger
        self.encoder = FrameEncoder(maxFrameLength: configuration.maxResponseFrameBytes)
        self.metrics = RPCServerMetrics(methodNames: self.methods.keys)
    }

    /// A response frame; a response over `max_response_frame_bytes` becomes a RESOURCE_EXHAUSTED
    /// error frame, as gRPC answers a message over its size limit.
    func frame(_ response: RpcResponse) -> ByteBuffer {
        do {
            return try encoder.encode(response, allocator: ByteBufferAllocator())
        } catch {
            return frame(tooLarge: response.callID, error)
        }
    }

    /// The RESOURCE_EXHAUSTED frame that replaces an answer `encodeError` found too large.
    private func frame(tooLarge callID: UInt64, _ encodeError: TokenWireError) -> ByteBuffer {
        logger.warning("response too large", metadata: ["call_id": "\(callID)", "error": "\(encodeError)"])
        let replacement = RpcResponse(
            callID: callID,
            code: RPCError.Code.resourceExhausted.rawValue,
            message: "response exceeds max_response_frame_bytes (\(configuration.maxResponseFrameBytes))",
            endOfStream: true
        )
        var buffer = ByteBuffer()
        // An error frame without payload is far below any sensible limit.
        try? FrameEncoder(maxFrameLength: Int(UInt32.max)).encode(replacement, into: &buffer)
        return buffer
    }

    /// The final frame of a call answered OK with `message`; over `max_response_frame_bytes` it
    /// becomes a RESOURCE_EXHAUSTED error frame, as in `frame(_:)`.
    func frame(callID: UInt64, answer message: any WireMessage) -> ByteBuffer {
        do {
            return try encoder.encodeFinalResponse(callID: callID, message: message, allocator: ByteBufferAllocator())
        } catch {
            return frame(tooLarge: callID, error)
        }
    }

    /// A final frame carrying `error`.
    func frame(callID: UInt64, error: RPCError) -> ByteBuffer {
        frame(RpcResponse(callID: callID, code: error.code.rawValue, message: error.message, endOfStream: true))
    }

    /// Logs and counts one finished call: logged at `.debug` when OK, `.notice` otherwise. Never logs
    /// credentials or payloads; `method` is a served method's name, or a client's text escaped and
    /// truncated with `LogText`.
    func logFinished(
        callID: UInt64,
        method: String,
        caller: String?,
        code: RPCError.Code,
        since start: ContinuousClock.Instant
    ) {
        let duration = ContinuousClock.now - start
        metrics.record(method: method, code: code, duration: duration)
        logger.log(
            level: code == .ok ? .debug : .notice,
            "call finished",
            metadata: [
                "call_id": "\(callID)",
                "caller": "\(caller ?? "-")",
                "method": "\(method)",
                "code": "\(code)",
                "duration": "\(duration)",
            ]
        )
    }
}
