import CTokenProto

/// One frame from server to client: a response, or one item of a stream.
public struct RpcResponse: Sendable, Hashable {
    /// Echoes the request's call id (0 for connection-level errors).
    public var callID: UInt64
    /// gRPC status code number; 0 = OK.
    public var code: UInt32
    /// Human-readable reason when `code` is not 0.
    public var message: String
    /// The method's response message, serialized, when `code` is 0.
    public var payload: [UInt8]
    /// True on the last frame of a call.
    public var endOfStream: Bool

    /// Creates a response frame.
    public init(callID: UInt64, code: UInt32 = 0, message: String = "", payload: [UInt8] = [], endOfStream: Bool) {
        self.callID = callID
        self.code = code
        self.message = message
        self.payload = payload
        self.endOfStream = endOfStream
    }
}

extension RpcResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.RpcResponse" }
    static func emptyCMessage() -> Token__V1__RpcResponse {
        var c = Token__V1__RpcResponse()
        token__v1__rpc_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RpcResponse) throws(TokenWireError) {
        self.init(
            callID: c.call_id,
            code: c.code,
            message: try CField.string(c.message, in: Self.messageName),
            payload: CField.bytes(c.payload),
            endOfStream: c.end_of_stream != 0
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RpcResponse {
        var c = Self.emptyCMessage()
        c.call_id = callID
        c.code = code
        c.message = arena.cString(message)
        c.payload = arena.binary(payload)
        c.end_of_stream = endOfStream ? 1 : 0
        return c
    }
}
