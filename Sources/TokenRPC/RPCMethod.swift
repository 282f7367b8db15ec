import TokenWire

/// Queues one serialized message of a stream, waiting while the connection cannot take more, or
/// throws when the stream has ended.
typealias RPCStreamSend = @Sendable ([UInt8]) async throws(RPCError) -> Void

/// A method the server serves: its full name, the role it needs and its handler.
public struct RPCMethod: Sendable {
    /// A handler working on serialized messages.
    enum Handler: Sendable {
        case unary(@Sendable ([UInt8], RPCContext) async throws -> any WireMessage)
        case synchronousUnary(@Sendable ([UInt8], RPCContext) throws -> any WireMessage)
        case deferredUnary(
            @Sendable ([UInt8], RPCContext, @escaping @Sendable (Result<any WireMessage, any Error>) -> Void) throws
                -> Void
        )
        case serverStreaming(@Sendable ([UInt8], RPCContext, @escaping RPCStreamSend) async throws -> Void)
    }

    /// The full method name, e.g. `/token.v1.TokenService/Issue`.
    public let fullName: String
    /// The role a caller needs; nil for methods open to all.
    public let role: Role?
    let handler: Handler

    private init(fullName: String, role: Role?, handler: Handler) {
        self.fullName = fullName
        self.role = role
        self.handler = handler
    }

    /// A method answering one response per request. Its handler runs in a task whose executor is
    /// the connection's event loop: it may await anything, but must not block the thread.
    /// - Parameters:
    ///   - fullName: the full method name.
    ///   - role: the role a caller needs, or nil when the method is open to all.
    ///   - request: the request message type (a payload that does not parse is INVALID_ARGUMENT).
    ///   - handler: answers the request; throwing `RPCError` answers its code, any other error
    ///     answers INTERNAL.
    /// - Returns: the method.
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ fullName: String,
        role: Role?,
        request: Request.Type,
        handler: @escaping @Sendable (Request, RPCContext) async throws -> Response
    ) -> RPCMethod {
        RPCMethod(
            fullName: fullName,
            role: role,
            handler: .unary { payload, context in
                let request = try decode(Request.self, from: payload)
                return try await handler(request, context)
            }
        )
    }

    /// A unary method whose handler is short, synchronous CPU work that never blocks or waits (a
    /// signature check, a lookup in memory). It runs on the connection's event loop as soon as the
    /// request is read, inline in the connection's reader, without a task of its own; anything that
    /// waits belongs in `unary`. Like every call it counts against the calls in flight until its
    /// answer is handed to the socket.
    /// - Parameters:
    ///   - fullName: the full method name.
    ///   - role: the role a caller needs, or nil when the method is open to all.
    ///   - request: the request message type (a payload that does not parse is INVALID_ARGUMENT).
    ///   - handler: answers the request; throwing `RPCError` answers its code, any other error
    ///     answers INTERNAL.
    /// - Returns: the method.
    public static func synchronousUnary<Request: WireMessage, Response: WireMessage>(
        _ fullName: String,
        role: Role?,
        request: Request.Type,
        handler: @escaping @Sendable (Request, RPCContext) throws -> Response
    ) -> RPCMethod {
        RPCMethod(
            fullName: fullName,
            role: role,
            handler: .synchronousUnary { payload, context in
                let request = try decode(Request.self, from: payload)
                return try handler(request, context)
            }
        )
    }

    /// A unary method whose handler starts like a `synchronousUnary` one, on the connection's event
    /// loop without a task, but may answer later: it hands `reply` to whatever it waits for (a
    /// durable write) and returns. For the hottest calls only: a task costs more than the callback
    /// that replaces it; everything else reads better as `unary`.
    /// - Parameters:
    ///   - fullName: the full method name.
    ///   - role: the role a caller needs, or nil when the method is open to all.
    ///   - request: the request message type (a payload that does not parse is INVALID_ARGUMENT).
    ///   - handler: must not block; throwing answers at once (`RPCError` its code, any other error
    ///     INTERNAL), returning leaves the answer to `reply`.
    /// - Returns: the method.
    public static func deferredUnary<Request: WireMessage, Response: WireMessage>(
        _ fullName: String,
        role: Role?,
        request: Request.Type,
        handler: @escaping @Sendable (Request, RPCContext, RPCReply<Response>) throws -> Void
    ) -> RPCMethod {
        RPCMethod(
            fullName: fullName,
            role: role,
            handler: .deferredUnary { payload, context, complete in
                let request = try decode(Request.self, from: payload)
                try handler(request, context, RPCReply(complete: complete))
            }
        )
    }

    /// A method answering a stream of responses to one request. Its handler runs in a task of its
    /// own on the global executor (so that a stream cannot hold its connection's event loop); its
    /// writer hops to the loop with each message and waits while the connection cannot take more
    /// (see `RPCStreamWriter`).
    /// - Parameters:
    ///   - fullName: the full method name.
    ///   - role: the role a caller needs, or nil when the method is open to all.
    ///   - request: the request message type (a payload that does not parse is INVALID_ARGUMENT).
    ///   - response: the type of the stream's messages.
    ///   - handler: writes the stream; returning ends it with OK, throwing `RPCError` ends it with
    ///     that code, any other error with INTERNAL.
    /// - Returns: the method.
    public static func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ fullName: String,
        role: Role?,
        request: Request.Type,
        response: Response.Type,
        handler: @escaping @Sendable (Request, RPCContext, RPCStreamWriter<Response>) async throws -> Void
    ) -> RPCMethod {
        RPCMethod(
            fullName: fullName,
            role: role,
            handler: .serverStreaming { payload, context, send in
                let request = try decode(Request.self, from: payload)
                try await handler(request, context, RPCStreamWriter<Response>(send: send))
            }
        )
    }

    private static func decode<Request: WireMessage>(_ type: Request.Type, from payload: [UInt8]) throws(RPCError)
        -> Request
    {
        do {
            return try Request(serializedBytes: payload)
        } catch {
            throw .invalidArgument("payload: \(error)")
        }
    }
}
