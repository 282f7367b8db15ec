/// What the HTTP port serves: the public keys, readiness and, optionally, metrics. Nothing here
/// returns a secret.
public struct HTTPRoutes: Sendable {
    /// The JWK Set of the published keys and how long clients may cache it, in seconds.
    public var keySet: @Sendable () -> (json: String, maxAgeSeconds: UInt32)
    /// Nil when the service is ready to serve, else why it is not.
    public var readiness: @Sendable () async -> String?
    /// The metrics in the Prometheus text format; nil: `/metrics` is not served.
    public var metrics: (@Sendable () -> String)?

    /// Creates the routes.
    /// - Parameters:
    ///   - keySet: the JWK Set and its cache age.
    ///   - readiness: nil when ready, else the reason.
    ///   - metrics: the Prometheus text, or nil for no `/metrics`.
    public init(
        keySet: @escaping @Sendable () -> (json: String, maxAgeSeconds: UInt32),
        readiness: @escaping @Sendable () async -> String?,
        metrics: (@Sendable () -> String)? = nil
    ) {
        self.keySet = keySet
        self.readiness = readiness
        self.metrics = metrics
    }
}
