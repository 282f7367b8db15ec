import Logging
import TokenRPC
import TokenWire

extension TokenServiceClient {
    /// Creates a client of the service at these endpoints. One connection carries every call; it is
    /// opened by the first call, trying the endpoints in order, and when it is lost the next call
    /// fails over to the first endpoint that answers.
    /// - Parameters:
    ///   - endpoints: the service's endpoints, in order of preference.
    ///   - credential: the API key sent with every call (its roles decide what the client may call).
    ///   - configuration: limits, timeouts and reconnection backoff.
    ///   - logger: receives connection events; never credentials or tokens.
    public init(
        endpoints: [RPCEndpoint],
        credential: String,
        configuration: RPCClientConfiguration = .init(),
        logger: Logger = Logger(label: "token.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.init(
            wrapping: RPCClient(endpoints: endpoints, configuration: configuration, credential: credential, logger: logger)
        )
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE.
    public func close() async {
        await rpc.close()
    }

    /// Ends a session on logout, given its refresh token (the gateway holds it): the session and
    /// every access token of it are revoked. Needs the `revoke` role.
    /// - Parameters:
    ///   - refreshToken: the session's refresh token.
    ///   - reason: kept for the audit log.
    /// - Returns: the revocation's `seq` (wait for it with `TokenValidator.waitUntilApplied(seq:)`).
    /// - Throws: `RPCError` with the service's code.
    public func logout(refreshToken: String, reason: String = "logout") async throws -> UInt64 {
        try await revoke(RevokeRequest(target: .token(refreshToken), reason: reason)).seq
    }

    /// Revokes every session of a subject and every access token issued to it so far ("log out
    /// everywhere"). Needs the `admin` role.
    /// - Parameters:
    ///   - subject: the `sub`.
    ///   - reason: kept for the audit log.
    /// - Returns: the revocation's `seq` and the number of sessions it ended.
    /// - Throws: `RPCError` with the service's code.
    public func revoke(subject: String, reason: String = "") async throws -> RevokeResponse {
        try await revoke(RevokeRequest(target: .subject(subject), reason: reason))
    }

    /// Spends a refresh token for a new pair (rotation). Needs the `refresh` role.
    /// - Parameter refreshToken: the refresh token.
    /// - Returns: the new access and refresh tokens.
    /// - Throws: `RPCError`; UNAUTHENTICATED for an unknown, spent, expired or revoked token.
    public func refresh(_ refreshToken: String) async throws -> IssueResponse {
        try await refresh(RefreshRequest(refreshToken: refreshToken))
    }

    /// A subject's live sessions, newest first. Needs the `admin` role.
    /// - Parameter subject: the `sub`.
    /// - Returns: the sessions.
    /// - Throws: `RPCError` with the service's code.
    public func sessions(of subject: String) async throws -> [WireSession] {
        try await listSessions(ListSessionsRequest(subject: subject)).sessions
    }
}
