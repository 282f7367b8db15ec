import CTokenProto

/// One frame from client to server: starts a call, or cancels one in flight.
public struct RpcRequest: Sendable, Hashable {
    /// Chosen by the client; non-zero and unique among the connection's calls in flight.
    public var callID: UInt64
    /// Full method name, e.g. `/token.v1.TokenService/Issue`.
    public var method: String
    /// The method's request message, serialized.
    public var payload: [UInt8]
    /// The caller's API key; empty for methods open to all.
    public var credential: String
    /// Deadline in milliseconds from arrival; 0 = the server's default (unary) or none (streams).
    public var timeoutMilliseconds: UInt32
    /// True: cancel the in-flight call `callID`.
    public var cancel: Bool

    /// Creates a request frame.
    public init(
        callID: UInt64,
        method: String = "",
        payload: [UInt8] = [],
        credential: String = "",
        timeoutMilliseconds: UInt32 = 0,
        cancel: Bool = false
    ) {
        self.callID = callID
        self.method = method
        self.payload = payload
        self.credential = credential
        self.timeoutMilliseconds = timeoutMilliseconds
        self.cancel = cancel
    }
}

extension RpcRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.RpcRequest" }
    static func emptyCMessage() -> Token__V1__RpcRequest {
        var c = Token__V1__RpcRequest()
        token__v1__rpc_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RpcRequest) throws(TokenWireError) {
        self.init(
            callID: c.call_id,
            method: try CField.string(c.method, in: Self.messageName),
            payload: CField.bytes(c.payload),
            credential: try CField.string(c.credential, in: Self.messageName),
            timeoutMilliseconds: c.timeout_ms,
            cancel: c.cancel != 0
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RpcRequest {
        var c = Self.emptyCMessage()
        c.call_id = callID
        c.method = arena.cString(method)
        c.payload = arena.binary(payload)
        c.credential = arena.cString(credential)
        c.timeout_ms = timeoutMilliseconds
        c.cancel = cancel ? 1 : 0
        return c
    }
}
