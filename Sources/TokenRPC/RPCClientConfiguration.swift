/// Limits, timeouts and reconnection policy of an `RPCClient`.
public struct RPCClientConfiguration: Sendable {
    /// How long to wait between rounds of connection attempts after all endpoints failed.
    public struct Backoff: Sendable, Hashable {
        /// The wait after the first failed round.
        public var initial: Duration
        /// The longest wait.
        public var maximum: Duration
        /// The factor applied to the wait after each further failed round.
        public var multiplier: Double

        /// Creates a backoff policy.
        /// - Parameters:
        ///   - initial: the wait after the first failed round.
        ///   - maximum: the cap.
        ///   - multiplier: the growth factor per failed round.
        public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10), multiplier: Double = 2) {
            self.initial = initial
            self.maximum = maximum
            self.multiplier = multiplier
        }
    }

    /// The largest frame the client sends or accepts, in bytes.
    public var maxFrameBytes: Int
    /// How long one connection attempt to one endpoint may take.
    public var connectTimeout: Duration
    /// The reconnection policy.
    public var backoff: Backoff
    /// The timeout of calls that pass none; nil for no deadline.
    public var defaultTimeout: Duration?
    /// Messages a stream buffers for a slow consumer; beyond that the stream is cancelled and ends
    /// with RESOURCE_EXHAUSTED.
    public var maxBufferedStreamMessages: Int
    /// Calls (unary and streaming) the client keeps in flight at once; more wait their turn, as a
    /// gRPC client waits for a stream slot. Match it to the server's `maxConcurrentCalls`.
    public var maxConcurrentCalls: Int
    /// TLS for every connection; nil for plain TCP.
    public var tls: RPCClientTLSConfiguration?

    /// Creates a configuration.
    public init(
        maxFrameBytes: Int = 4 << 20,
        connectTimeout: Duration = .seconds(5),
        backoff: Backoff = .init(),
        defaultTimeout: Duration? = nil,
        maxBufferedStreamMessages: Int = 4_096,
        maxConcurrentCalls: Int = 256,
        tls: RPCClientTLSConfiguration? = nil
    ) {
        self.tls = tls
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxFrameBytes = maxFrameBytes
        self.connectTimeout = connectTimeout
        self.backoff = backoff
        self.defaultTimeout = defaultTimeout
        self.maxBufferedStreamMessages = maxBufferedStreamMessages
    }
}
