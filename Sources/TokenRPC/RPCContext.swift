import Logging
import NIOCore

/// What a handler knows about the call it serves.
public struct RPCContext: Sendable {
    /// The call's id on its connection.
    public let callID: UInt64
    /// The full method name, e.g. `/token.v1.TokenService/Issue`.
    public let method: String
    /// The authenticated caller; nil for methods open to all called without a credential.
    public let caller: Caller?
    /// When the call's deadline passes (the handler's task is then cancelled); nil for none.
    public let deadline: ContinuousClock.Instant?
    /// The server's logger.
    public let logger: Logger
    /// The event loop of the call's connection: where a `deferredUnary` handler runs and where its
    /// reply is cheapest to complete.
    public let eventLoop: any EventLoop

    /// Creates a context (the server creates one per call; tests may create their own).
    /// - Parameters:
    ///   - callID: the call's id.
    ///   - method: the full method name.
    ///   - caller: the authenticated caller, if any.
    ///   - deadline: the call's deadline, if any.
    ///   - logger: the logger for the call.
    ///   - eventLoop: the event loop of the call's connection.
    public init(
        callID: UInt64,
        method: String,
        caller: Caller?,
        deadline: ContinuousClock.Instant?,
        logger: Logger,
        eventLoop: any EventLoop
    ) {
        self.callID = callID
        self.method = method
        self.caller = caller
        self.deadline = deadline
        self.logger = logger
        self.eventLoop = eventLoop
    }
}
